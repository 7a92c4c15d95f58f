# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The eval tests need torch. This pin is a CPU build on the development machines; elsewhere choose yours,
# e.g. make test TORCH="torch --index-url https://download.pytorch.org/whl/cpu".
TORCH ?= torch==2.13.0

.PHONY: demo test test-slow bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[test,eval,ray,train]'
	touch $(VENV)/.core $@

# Blender (bpy, Python 3.11 only) pins numpy<2, which pyarrow cannot share: it gets its own venv, which a
# source checkout's spatialgen finds as .venv-3d beside it (users: `spatialgen setup-3d`). Where bpy cannot be
# installed, the 3D tests are skipped.
.venv-3d/.installed:
	($(PY) -m venv .venv-3d && .venv-3d/bin/pip install -q bpy==5.0.1 && touch $@) \
	  || echo "bpy could not be installed here: 3D tests will be skipped"

# Renders the default preset (200 scenes) and a preview sheet into data/demo.
demo: $(VENV)/.core
	$(BIN)/spatialgen render --n 200 --out data/demo
	$(BIN)/spatialgen preview data/demo
	@echo "open data/demo/preview.png; load with datasets.load_dataset('data/demo')"

test: $(VENV)/.test .venv-3d/.installed
	$(BIN)/python -m pytest -q

# The slow end-to-end tests (a real pip install of the built wheel, ...); CI runs them after `make test`.
test-slow: $(VENV)/.test .venv-3d/.installed
	$(BIN)/python -m pytest -q -m slow

bench: $(VENV)/.test .venv-3d/.installed
	$(BIN)/python bench/render2d.py
	$(BIN)/python bench/eval_throughput.py
	$(BIN)/python bench/render3d.py

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .venv-3d data build dist *.egg-info
