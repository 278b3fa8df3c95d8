# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS ?= test,service,sim,dask
DEMO_N ?= 100000
DEMO_DIR ?= demo-out

.PHONY: demo test bench install clean chromium

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

test: $(STAMP) chromium
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[$(EXTRAS),bench]'
	$(PY) -m jukimatch.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
