# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Test processes (pytest-xdist): each has its own PostgreSQL database, SQLite files and ports;
# one test file stays in one process, so a file's live dashboard is started once.
TEST_WORKERS ?= 2

.PHONY: run test test-date docs docs-check bench chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

## run: install, migrate, load the demo project if the database has none, start everything
run: $(STAMP)
	$(PY) -m smschat demo --if-empty
	$(PY) -m smschat up

## chromium: Debian's Chromium for the browser tests, where this machine can install it
chromium:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$SMSCHAT_CHROMIUM" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; \
	else echo "chromium is not installed and cannot be installed here: browser tests will skip"; fi

## test: the import contracts (pyproject.toml), then the whole suite, on SQLite and PostgreSQL, with the browser tests
test: $(STAMP) chromium
	$(VENV)/bin/lint-imports --no-cache
	$(MAKE) --no-print-directory docs-check
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

## test-date: the whole suite again with the wall clock of every Python process it starts a
## year ahead (SHIFT_DAYS to change it; tests/shift/sitecustomize.py): a test that depends on
## today's date fails here
SHIFT_DAYS ?= 365
test-date: $(STAMP) chromium
	PYTHONPATH=$(CURDIR)/tests/shift SMSCHAT_TEST_SHIFT_DAYS=$(SHIFT_DAYS) $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -p no:cacheprovider -p no:time_machine

## docs: the documentation site (mkdocs.yml, docs/) into site/
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --site-dir site

## docs-check: the site builds with no warning and no broken link or anchor (part of make test)
docs-check: $(STAMP)
	@d=$$(mktemp -d); $(VENV)/bin/mkdocs build --strict --site-dir $$d/site >$$d/log 2>&1; s=$$?; \
	[ $$s = 0 ] || grep -v '^INFO' $$d/log; rm -rf $$d; exit $$s

## bench: the benchmarks (not part of the tests)
bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache
