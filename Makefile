# 常州一网通办 — two commands for a newcomer: `make run` and `make test`.
# Everything they need is installed here: Python packages into .venv from the lock, and
# Debian's chromium for the browser tests and pgbouncer for the pooling test (through apt-get when
# running as root).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LOCK := requirements/lock.txt
STAMP := $(VENV)/.installed
CHROME ?= $(or $(CHROME_PATH),/usr/bin/chromium)
# Types, as configured in pyproject.toml ([tool.pyright]: strict on app/ auth/ push/ db/ config/), against the
# packages of .venv; Node.js comes as a wheel with it (nothing is downloaded when it runs).
PYRIGHT := $(VENV)/bin/pyright --pythonpath $(PY)
# honcho hands each process its own PORT (5000 by default): start from ours.
PORT ?= 8000

.PHONY: run test lint lock setup db chromium pgbouncer bench soak wrk fuzz screens fonts messages lighthouse

run: setup db
	$(VENV)/bin/honcho start -f Procfile -p $(PORT)

# The suite on both cores: pytest-xdist shares the test files between TEST_WORKERS pytest processes (a file stays in
# one, in its order), each with its own PostgreSQL and, for the browser tests, its own served app and Chromium. The
# unit and HTTP tests first, then the browser tests: a process that has driven a browser keeps Playwright's event loop
# running, where an async test cannot start its own. Each run ends with its ten slowest tests (--durations): where
# the suite's time goes, when it grows past its 20 minutes.
TEST_WORKERS ?= 2
test: setup chromium pgbouncer
	$(VENV)/bin/ruff check .
	$(PYRIGHT)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=10 tests
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=10 e2e

# Benchmarks (about 5 minutes): the app as in production beside a minimal baseline, figures in
# bench/results/latest.json. Not part of `make test`.
bench: setup wrk
	$(PY) -m bench

# A soak (about 12 minutes): SOAK_SECONDS (600) of mixed traffic — status checks, the pages, submissions and their
# pushes — at half the peak it measures first; passes with no failed request or push and each web worker's memory at
# the end within 10 % of what it was after the first minute. Prints the figures. Not part of `make test`.
SOAK_SECONDS ?= 600
soak: setup wrk
	SOAK_SECONDS=$(SOAK_SECONDS) $(PY) -m bench.soak

# A long fuzz of the API (about 10 minutes): schemathesis against /schema/openapi.json as an anonymous visitor, a
# resident and a clerk, every phase, FUZZ_EXAMPLES cases per operation and caller, a new seed each run (FUZZ_SEED=…
# repeats one). Prints the number of requests and of server errors; fails on any 5xx. `make test` runs a short one.
FUZZ_EXAMPLES ?= 500
fuzz: setup
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(PY) -m pytest tests/test_fuzz.py -q

# Screenshots of the three journeys at their devices (an elder's phone in 长辈版, a helper's and a clerk's tablet) into
# docs/screens/, indexed by docs/screens/README.md. About 2 minutes; not part of `make test`. Commit the PNGs.
screens: setup chromium fonts
	$(PY) -m pytest e2e/screens.py -q -p no:cacheprovider

# Lighthouse's accessibility category on the home page in Chinese, in English and in 长辈版 (bench/lighthouse.py, about
# 1 minute): prints the three scores and fails unless each is 1.0. The Lighthouse CLI (pinned: 13 needs Node 22) is
# installed from npm into .lighthouse/ (git-ignored) the first time. Not part of `make test`.
LIGHTHOUSE_VERSION := 12.8.2
LIGHTHOUSE := .lighthouse/node_modules/.bin/lighthouse
lighthouse: setup chromium fonts
	@command -v npm >/dev/null || { echo "make lighthouse needs Node.js 18+ and npm: run 'sudo apt-get install nodejs npm'"; exit 1; }
	@if [ "$$(cat .lighthouse/version 2>/dev/null)" != "$(LIGHTHOUSE_VERSION)" ] || [ ! -x $(LIGHTHOUSE) ]; then \
		echo "installing lighthouse@$(LIGHTHOUSE_VERSION) into .lighthouse/"; \
		mkdir -p .lighthouse && npm install --prefix .lighthouse --no-audit --no-fund --loglevel=error \
			lighthouse@$(LIGHTHOUSE_VERSION) && echo $(LIGHTHOUSE_VERSION) > .lighthouse/version; \
	fi
	CHROME_PATH=$(CHROME) LIGHTHOUSE=$(LIGHTHOUSE) $(PY) -m bench.lighthouse

# Chinese text and the life events' icons as a person's phone shows them: Noto CJK and Noto Color Emoji.
fonts:
	@if fc-list :lang=zh 2>/dev/null | grep -q . && fc-list 2>/dev/null | grep -qi emoji; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing Debian's fonts-noto-cjk and fonts-noto-color-emoji for the screenshots"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fonts-noto-color-emoji >/dev/null; \
	else \
		echo "The screenshots need Chinese and emoji fonts: run 'sudo apt-get install fonts-noto-cjk fonts-noto-color-emoji'"; exit 1; \
	fi

wrk:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing Debian's wrk for the benchmarks"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	else \
		echo "The benchmarks need wrk: run 'sudo apt-get install wrk'"; exit 1; \
	fi

# The catalogues (i18n/): every text marked for translation extracted into locale/messages.pot, and each language's
# .po brought up to it (new texts added untranslated, gone ones kept as obsolete). Translate, then commit the .po:
# the app reads it at start (no compiled file to keep in step); tests/test_i18n.py names what is left untranslated.
messages: setup
	$(VENV)/bin/pybabel --quiet extract -F babel.cfg --no-location --sort-output --omit-header \
		-k _ -k N_ -k N_plural:1,2 -k gettext -k ngettext:1,2 -k pgettext:1c,2 -o locale/messages.pot .
	$(VENV)/bin/pybabel --quiet update -i locale/messages.pot -d locale -D messages --no-fuzzy-matching \
		--ignore-obsolete

lint: setup
	$(VENV)/bin/ruff check .
	$(PYRIGHT)

# The lock pins exact versions of everything pyproject.toml asks for, so next month's install
# is the one we tested. Regenerate after editing pyproject.toml, then commit both.
lock:
	$(VENV)/bin/pip-compile --quiet --extra dev --strip-extras --no-emit-index-url --no-emit-find-links \
		-o $(LOCK) pyproject.toml

setup: $(STAMP)

$(STAMP): $(LOCK) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(LOCK)
	@touch $(STAMP)

# Migrate and load the demo data (both idempotent), starting the embedded database if needed.
db: setup
	$(PY) -m app migrate
	$(PY) -m app seed

chromium:
	@if [ -x "$(CHROME)" ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium: run 'sudo apt-get install chromium' (or set CHROME_PATH)"; exit 1; \
	fi


# The app through PgBouncer in transaction mode (tests/test_pgbouncer.py). Debian puts it in /usr/sbin.
pgbouncer:
	@if command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ]; then :; \
	elif [ "$$(id -u)" = "0" ]; then \
		echo "installing Debian's pgbouncer for the connection-pooling test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; \
	else \
		echo "tests/test_pgbouncer.py is skipped until PgBouncer is installed: run 'sudo apt-get install pgbouncer'"; \
	fi
