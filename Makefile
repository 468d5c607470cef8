# Every target creates (or reuses) .venv and installs what it needs first: `make demo` only
# the demo's extra (no test stack), `make test` everything. Each install has its own stamp.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_STAMP := $(VENV)/.installed-demo
FULL_STAMP := $(VENV)/.installed-all

.PHONY: demo test docs bench scaling lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $(DEMO_STAMP)

# everything includes the demo's packages: mark both as installed
$(FULL_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all,demo,test,docs,bench]'
	touch $(FULL_STAMP) $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python -m chainrule demo

test: $(FULL_STAMP)
	$(BIN)/ruff check chainrule tests examples bench
	$(BIN)/python -m pytest

lint: $(FULL_STAMP)
	$(BIN)/ruff check chainrule tests examples bench

# The documentation site (mkdocs.yml) into site/, executing the course notebooks; any
# warning (a broken link, a docstring mkdocstrings cannot read) fails the build.
docs: $(FULL_STAMP)
	$(BIN)/mkdocs build --strict

bench: $(FULL_STAMP)
	$(BIN)/python bench/run.py

# Data-parallel throughput on 1 and 2 MPI ranks (needs Open MPI's mpirun; docs/scaling.md)
scaling: $(FULL_STAMP)
	$(BIN)/python bench/scaling.py

clean:
	rm -rf $(VENV) chainrule-demo chainrule-examples .pytest_cache site .cache
