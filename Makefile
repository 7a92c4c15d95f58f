# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The eval tests need torch. This pin is a CPU build on the development machines; elsewhere choose yours,
# e.g. make test TORCH="torch --index-url https://download.pytorch.org/whl/cpu".
TORCH ?= torch==2.13.0

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[test,eval,ray]'
	touch $(VENV)/.core $@

# Renders the default preset (200 scenes) and a preview sheet into data/demo.
demo: $(VENV)/.core
	$(BIN)/spatialgen render --n 200 --out data/demo
	$(BIN)/spatialgen preview data/demo
	@echo "open data/demo/preview.png; load with datasets.load_dataset('data/demo')"

test: $(VENV)/.test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.test
	$(BIN)/python bench/render2d.py
	$(BIN)/python bench/eval_throughput.py

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data build dist *.egg-info
