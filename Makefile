# Orthanc Previewer.  `make run` and `make test` do all set-up on a fresh
# Debian bookworm machine (as root); every step is idempotent.

# Debian's own interpreter: its libpython is the one Debian's orthanc-python
# plugin loads, so the two plugins can share one Python in one Orthanc.
PYTHON ?= /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
PLUGIN := build/libOrthancPreviewer.so
DEB_PACKAGES := orthanc orthanc-dev dcmtk chromium gcc libc6-dev postgresql orthanc-postgresql nginx \
  python3 python3-dev python3-venv orthanc-python orthanc-dicomweb orthanc-webviewer orthanc-gdcm dicom3tools
NATIVE_SOURCES := $(wildcard native/*.h native/*.c native/*.py) previewer/plugin/explorer.js pyproject.toml

.PHONY: all setup system testdata bench-system build run test test-cluster test-fast test-compat test-compat-host test-orthanc-suite compat-root compat-system typecheck contact-sheet bench bench-quick fuzz soak memcheck install uninstall clean

all: setup

setup: system $(VENV)/.installed $(PLUGIN)

# Debian packages, installed only when missing.  Python's headers and venv
# module come from Debian too when the interpreter lacks them.
system:
	@missing=""; \
	for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
	  || missing="$$missing python3-dev"; \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	@# A venv made from another interpreter (say pyenv's) is made again.
	@if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print(sys.base_prefix)')" != "$$($(PYTHON) -c 'import sys; print(sys.base_prefix)')" ]; then \
	  echo "Re-creating $(VENV) with $(PYTHON)"; rm -rf $(VENV); fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Real multi-slice CT series with their RT structure sets, from a registry
# package's own test data (tests/fetch_testdata.py says which, and its licence).
testdata: $(VENV)/.installed
	$(PY) tests/fetch_testdata.py

$(PLUGIN): $(NATIVE_SOURCES) $(VENV)/.installed
	$(PY) native/build.py build

build: setup

run: setup
	$(VENV)/bin/previewer serve --storage .orthanc-data

# Three workers (pytest-xdist), each taking whole files: most of the suite waits
# on Orthanc processes and Chromium (a whole CI run kept one of the two cores
# busy on average), so three workers overlap that waiting.
# TEST_WORKERS=0 runs it in one process; PYTEST_ARGS adds options (.ci/run
# asks for the slowest tests).
TEST_WORKERS ?= 3
test: setup testdata
	PREVIEWER_CLUSTER_TESTS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The multi-node test alone (2 Orthanc nodes + PostgreSQL + nginx; about 20 s).
test-cluster: setup
	PREVIEWER_CLUSTER_TESTS=1 $(PY) -m pytest -q tests/test_cluster.py

# No Orthanc, no browser, no server process: the tests not marked slow.
test-fast: setup
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

# Orthanc 1.12 (Debian trixie): the integration tests inside a trixie root made
# by debootstrap, kept in COMPAT_ROOT between runs; none of it needs the host's
# .venv (docs/COMPAT.md).  COMPAT_ARGS= replaces the test selection.
COMPAT_ROOT ?= /var/cache/orthanc-previewer/trixie

compat-system:
	@dpkg -s debootstrap >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap; }

compat-root: compat-system
	PREVIEWER_TRIXIE_ROOT=$(COMPAT_ROOT) bash tests/compat/trixie.sh root

test-compat: compat-system
	PREVIEWER_TRIXIE_ROOT=$(COMPAT_ROOT) bash tests/compat/trixie.sh test $(COMPAT_ARGS)

# The same selection against the host's Orthanc 1.10.1; test-compat then lists the differences.
test-compat-host: setup
	@mkdir -p test-artifacts/compat
	$(PY) -m pytest -q -p no:cacheprovider --junitxml=test-artifacts/compat/host.xml $$(bash tests/compat/trixie.sh selection)

# Orthanc's integration suite (orthanc-tests at the tag of the host's Orthanc, from the git mirror
# ORTHANC_TESTS_REPO) with "CoreRoutes" off and on; writes docs/CORE_ROUTES.md.
test-orthanc-suite: setup
	cd tests && ../$(PY) orthanc_suite.py

# Robustness, long versions (results in tests/ROBUSTNESS.md).
fuzz: setup
	PREVIEWER_FUZZ_EXAMPLES=$${PREVIEWER_FUZZ_EXAMPLES:-1500} $(PY) -m pytest -q -p no:cacheprovider tests/test_robustness_fuzz.py tests/test_robustness_http.py -k fuzz

soak: setup
	$(PY) tests/soak.py --minutes $${SOAK_MINUTES:-10} --out test-artifacts/soak

memcheck: setup
	PREVIEWER_MEMCHECK=1 $(PY) -m pytest -q -p no:cacheprovider tests/test_robustness_memcheck.py

# wrk (Debian's) is the load generator of benchmarks/request_targets.py.
bench-system:
	@$(MAKE) --no-print-directory system DEB_PACKAGES="wrk"

bench: setup bench-system
	@$(MAKE) --no-print-directory testdata
	$(PY) -m benchmarks.run

bench-quick: setup bench-system
	@$(MAKE) --no-print-directory testdata
	$(PY) -m benchmarks.run --quick

contact-sheet: setup
	$(PY) tests/contact_sheet.py test-artifacts/contact-sheet.png

typecheck: setup
	$(VENV)/bin/mypy previewer

# For Debian's orthanc service, as root (README, "Add to an existing Orthanc"):
# a venv made from PYTHON and the plugin built with it in PREFIX, the link
# /usr/share/orthanc/plugins/libOrthancPreviewer.so and /etc/orthanc/previewer.json; the
# manifest PREFIX/manifest.json lists them for `make uninstall`.  Only the
# packages the build needs are installed; the clone's .venv is not needed.
PREFIX ?= /opt/orthanc-previewer
INSTALL_PACKAGES := orthanc orthanc-dev gcc libc6-dev python3 python3-dev python3-venv

install:
	@$(MAKE) --no-print-directory system DEB_PACKAGES="$(INSTALL_PACKAGES)"
	$(PYTHON) -m previewer.serve.cli install --prefix $(PREFIX) --python $(PYTHON)

uninstall:
	$(PYTHON) -m previewer.serve.cli uninstall --prefix $(PREFIX)

clean:
	rm -rf build .orthanc-data
