# aimarket: set-up-and-go targets. Each target creates .venv if missing and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= runs/baseline

.PHONY: run test lint fix bench clean screenshots

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "aimarket needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@ $(VENV)/.installed

## run: the baseline experiment into runs/baseline, with a summary
run: $(VENV)/.installed
	$(BIN)/aimarket run experiments/configs/baseline.toml --out $(OUT)

## test: lint, layer contracts and the whole test suite
test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

## fix: apply ruff's fixes and formatting
fix: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: speed and memory figures into bench/results/ (run on an otherwise idle machine)
bench: $(VENV)/.installed-dev
	$(BIN)/python bench/single_run.py
	$(BIN)/python bench/sweep_throughput.py
	$(BIN)/python bench/vs_mesa_batch_run.py
	$(BIN)/python bench/customer_scaling.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .import_linter_cache *.egg-info

## screenshots: the regimes report's pictures in docs/img (needs chromium and chromium-driver)
screenshots: $(VENV)/.installed-dev
	$(BIN)/python docs/scripts/report_screenshots.py
