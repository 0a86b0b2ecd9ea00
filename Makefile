# One-command set-up on a fresh Debian/Ubuntu machine: system packages through apt,
# Python packages into .venv. `make demo` runs the main job, `make test` the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-kor \
	fonts-dejavu-core fonts-noto-cjk
TEST_APT_PACKAGES := chromium
BENCH_APT_PACKAGES := ocrmypdf unpaper
SAMPLE := memo_shadow.png

.PHONY: demo test system system-test system-bench venv bench clean

demo: system venv
	$(VENV)/bin/bgocr "$$($(PY) -c 'import bgocr_nb; print(bgocr_nb.sample_path("$(SAMPLE)"))')"

test: system system-test venv
	$(PY) -m pytest

# apt-get install the packages in $(1) that are not installed yet
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system:
	$(call apt_install,$(APT_PACKAGES) $(shell $(PYTHON) -c "import ensurepip" 2>/dev/null || echo python3-venv))

system-test:
	$(call apt_install,$(TEST_APT_PACKAGES))

system-bench:
	$(call apt_install,$(BENCH_APT_PACKAGES))

$(VENV)/.installed: pyproject.toml
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test,notebook]"
	touch $@

venv: $(VENV)/.installed

bench: system system-bench venv
	$(PY) benchmarks/quality.py --results
	$(PY) benchmarks/speed.py --results
	$(PY) benchmarks/throughput.py --memory --results

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-output
