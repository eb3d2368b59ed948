# Kaizen developer entry points. A fresh clone needs only:
#   make demo   - sets up .venv, runs an agent end to end on the bundled local model (offline)
#   make test   - installs system services, runs the whole tox matrix, prints a summary
PYTHON ?= python3
# llama-cpp-python compiles from source on a machine without a cached wheel: use both cores.
CMAKE_BUILD_PARALLEL_LEVEL ?= 2
export CMAKE_BUILD_PARALLEL_LEVEL
VENV ?= .venv
BIN := $(VENV)/bin
# Fast envs first; the model-backed ones last so the llama-cpp-python wheel is built once.
TOX_FAST := core,testing,lint,anthropic,ollama,google,redis,postgres,s3,sentence-transformers,mcp,otel,prometheus,serve,ray
TOX_MODEL := llamacpp,openai

.PHONY: setup demo test test-fast bench lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.setup-done: $(BIN)/activate pyproject.toml kaizen-testing/pyproject.toml
	$(BIN)/pip install -q -e '.[test]' -e kaizen-testing 'tox>=4.11'
	touch $@

setup: $(VENV)/.setup-done

$(VENV)/.demo-done: $(VENV)/.setup-done plugins/kaizen-llamacpp/pyproject.toml
	@echo "Installing kaizen-llamacpp (llama-cpp-python compiles from source the first time: ~8 min on 2 cores)"
	$(BIN)/pip install -q -e plugins/kaizen-llamacpp
	touch $@

demo: $(VENV)/.demo-done
	$(BIN)/python examples/quickstart/main.py

test: setup
	sh scripts/install-system-deps.sh
	rm -rf .reports && mkdir -p .reports
	$(BIN)/tox run -e $(TOX_FAST) ; fast=$$? ; \
	$(BIN)/tox run -e $(TOX_MODEL) ; model=$$? ; \
	$(BIN)/python scripts/summarize_tests.py .reports ; summary=$$? ; \
	test $$fast -eq 0 -a $$model -eq 0 -a $$summary -eq 0

test-fast: setup
	$(BIN)/tox run -e core

bench: setup
	$(BIN)/python benchmarks/run_all.py

lint: setup
	$(BIN)/tox run -e lint

clean:
	rm -rf $(VENV) .tox .reports build dist *.egg-info
