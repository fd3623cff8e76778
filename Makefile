# Both entry points create .venv/ and install what they need, so they work on a fresh machine
# with only Python 3.11 and pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEMO_DIR ?= demo-output

RALPH_STAMP := .venv-ralph/.installed-5.1.0

.PHONY: demo airflow test test-fast lint bench ralph chromium clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=77'  # the wheel test builds offline with it
	$(BIN)/python -m pip install --quiet -e '.[dev,airflow,topology]'
	rm -f $(VENV)/.installed-* && touch $@

# Ralph's LRS cannot share an environment with Airflow 3, so it gets its own (requests is a
# dependency ralph-malph 5.1.0 forgets to declare).
$(RALPH_STAMP):
	test -x .venv-ralph/bin/python || $(PYTHON) -m venv .venv-ralph || python3 -m venv .venv-ralph
	.venv-ralph/bin/python -m pip install --quiet 'ralph-malph[cli,lrs]==5.1.0' requests
	touch $@

ralph: $(RALPH_STAMP)

# The reports are checked in a real headless browser: Debian's Chromium, which Playwright drives
# (as root on a fresh machine it is installed here; elsewhere install it and the tests find it).
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium not installed: the browser tests will be skipped (under CI they fail)"

demo: $(STAMP) $(RALPH_STAMP)
	$(BIN)/python -m devtools.demo --out $(DEMO_DIR)

# Airflow 3 with its UI on 127.0.0.1 (port printed), the project's DAGs and the demo's LRSs; Ctrl-C stops it.
airflow: $(STAMP) $(RALPH_STAMP)
	$(BIN)/python -m devtools.airflow_ui --out airflow-local

test: $(STAMP) $(RALPH_STAMP) chromium
	$(BIN)/python -m pytest

# The inner loop: everything but the tests that start real processes (Airflow, Ralph, moto, the demo).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not integration"

# Style, the layer contract (import-linter, [tool.importlinter] in pyproject.toml) and types.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Every performance goal, each against its baseline in the same run (ratios carry over between
# machines, seconds do not); about 40 minutes on 2 cores. BENCH_SCALE=0.1 for a quick look.
BENCH_SCALE ?= 1
scaled = $(shell python3 -c "print(max(1000, int($(1) * $(BENCH_SCALE))))")
bench: $(STAMP) $(RALPH_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_ingest.py --count $(call scaled,50000)
	$(BIN)/python benchmarks/bench_fastpath.py --count $(call scaled,50000)
	$(BIN)/python benchmarks/bench_ingest.py --count $(call scaled,200000) --workers 1 2
	$(BIN)/python benchmarks/bench_ingest.py --memory $(call scaled,100000) $(call scaled,1000000)
	$(BIN)/python benchmarks/bench_pull.py --count $(call scaled,20000)
	$(BIN)/python benchmarks/bench_lsa.py end-to-end --events $(call scaled,1000000)
	$(BIN)/python benchmarks/bench_credit.py --statements $(call scaled,1000000)
	$(BIN)/python benchmarks/bench_quality.py --rows $(call scaled,50000)

clean:
	rm -rf $(VENV) .venv-ralph $(DEMO_DIR) airflow-local .pytest_cache
