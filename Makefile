# `make test` and `make demo` each create/refresh the virtual environment in .venv, install the
# package into it (editable), then run the tests / the demo. Re-running is quick: the install
# step only reruns when setup.cfg or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torchvision from the registry is a CUDA build and needs its matching torch (see DESIGN.md).
TORCH_PINS := torch==2.15.0 torchvision==0.29.2

.PHONY: test demo install clean-venv test-all bench-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check $(TORCH_PINS)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,suite]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ""

demo: $(STAMP)
	$(BIN)/hyperstar demo

# Benchmark-only dependencies (Optuna, for benchmarks/hpo_tabular.py): the `bench` extra.
bench-deps: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'

clean-venv:
	rm -rf $(VENV)
