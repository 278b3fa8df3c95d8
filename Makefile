# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS ?= test,service,sim,dask
DEMO_N ?= 100000
DEMO_DIR ?= demo-out

.PHONY: demo test typecheck bench install clean chromium

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

install: $(STAMP) chromium

# The browser tests drive Debian's chromium (Playwright's own browser download is not used);
# a Japanese font makes the workbench's screenshots legible.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic; }

demo: $(STAMP)
	$(PY) -m jukimatch.api.demo --residents $(DEMO_N) --out $(DEMO_DIR)

# mypy --strict on the public surface (setup.cfg [mypy]); its cache keeps a second run at a second.
TYPECHECK := build/typecheck
typecheck: $(STAMP)
	@mkdir -p $(TYPECHECK)/jukimatch
	@for d in engine api datasets sim bench; do ln -sfn $(CURDIR)/$$d $(TYPECHECK)/jukimatch/$$d; done
	cd $(TYPECHECK) && MYPYPATH=. $(abspath $(PY)) -m mypy --config-file $(CURDIR)/setup.cfg

test: $(STAMP) chromium typecheck
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[$(EXTRAS),bench]'
	$(PY) -m jukimatch.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
