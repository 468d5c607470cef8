# Every target creates (or reuses) .venv and installs what it needs first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test docs bench scaling lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[all,test,docs,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m chainrule demo

test: $(STAMP)
	$(BIN)/ruff check chainrule tests examples bench
	$(BIN)/python -m pytest

# The documentation site (mkdocs.yml) into site/, executing the course notebooks; any
# warning (a broken link, a docstring mkdocstrings cannot read) fails the build.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Data-parallel throughput on 1 and 2 MPI ranks (needs Open MPI's mpirun; docs/scaling.md)
scaling: $(STAMP)
	$(BIN)/python bench/scaling.py

clean:
	rm -rf $(VENV) chainrule-demo chainrule-examples .pytest_cache site .cache
