# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
EXTRAS ?= test,service,sim,dask
DEMO_N ?= 100000
DEMO_DIR ?= demo-out

.PHONY: demo test typecheck bench install kernels clean chromium

UV     := $(VENV)/bin/uv
UV_VERSION ?= uv>=0.13,<0.14

# uv installs in a few seconds what pip took ~30 s for (the same resolved versions). uv itself
# comes from pip: python3's own pip installing into the venv (no pip in the venv: 3 s less),
# else the venv's pip from ensurepip; so a fresh machine still needs only python3. Then the
# engine's Numba kernels are compiled once, one process per core, into their on-disk cache
# (jukimatch.api.warmup): a first run finds them compiled instead of compiling them in turn.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV)
	test -x $(UV) || $(PYTHON) -m pip --python $(PY) install --quiet '$(UV_VERSION)' \
	  || { $(PY) -m ensurepip --default-pip && $(PY) -m pip install --quiet '$(UV_VERSION)'; }
	$(UV) pip install --quiet --python $(PY) -e '.[$(EXTRAS)]'
	touch $(STAMP)

# Again after a kernel's source changes: only what changed is compiled, the rest loads.
KERNEL_STAMP := $(VENV)/.kernels
$(KERNEL_STAMP): $(STAMP) api/warmup.py api/data/kernels.txt $(wildcard engine/*.py engine/*/*.py)
	$(PY) -m jukimatch.api.warmup
	touch $(KERNEL_STAMP)

kernels: $(KERNEL_STAMP)

install: $(STAMP) $(KERNEL_STAMP) chromium

# The browser tests drive Debian's chromium (Playwright's own browser download is not used);
# a Japanese font makes the workbench's screenshots legible.
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic; }

demo: $(STAMP) $(KERNEL_STAMP)
	$(PY) -m jukimatch.api.demo --residents $(DEMO_N) --out $(DEMO_DIR)

# mypy --strict on the public surface (setup.cfg [mypy]); its cache keeps a second run at a second.
TYPECHECK := build/typecheck
typecheck: $(STAMP)
	@mkdir -p $(TYPECHECK)/jukimatch
	@for d in engine api datasets sim bench; do ln -sfn $(CURDIR)/$$d $(TYPECHECK)/jukimatch/$$d; done
	cd $(TYPECHECK) && MYPYPATH=. $(abspath $(PY)) -m mypy --config-file $(CURDIR)/setup.cfg

# tests spread over the cores (many wait on servers, browsers and clusters), four at most; a
# module's tests stay together, in order, on one worker (loadscope): its fixtures (a server, a
# store, a generated run) are built once, and no test finds another's work missing
test: $(STAMP) $(KERNEL_STAMP) chromium typecheck
	$(PY) -m pytest -q -n auto --maxprocesses 4 --dist loadscope

bench: $(STAMP)
	$(UV) pip install --quiet --python $(PY) -e '.[$(EXTRAS),bench]'
	$(PY) -m jukimatch.bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info
