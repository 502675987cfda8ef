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

# Benchmark-only dependencies (benchmarks/hpo_tabular.py, benchmarks/hpo_peers.py): the `bench` extra (Optuna,
# SMAC3), then the two peers whose pins clash with the project's: NePS 0.17 pins networkx<3 (scikit-image, used
# to render the task suite, needs >=3; NePS runs with 3.x, so networkx is put back), DEHB 0.1.2 pins numpy<2
# (it runs with numpy 2: installed without its dependencies, plus loguru, its logger).
NEPS_PIN := neural-pipeline-search==0.17.0
DEHB_PIN := dehb==0.1.2
bench-deps: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench]'
	$(BIN)/pip install --quiet --disable-pip-version-check $(NEPS_PIN)
	$(BIN)/pip install --quiet --disable-pip-version-check 'networkx>=3'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(DEHB_PIN) 'loguru>=0.5.3'

clean-venv:
	rm -rf $(VENV)
