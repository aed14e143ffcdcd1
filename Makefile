# make run   — create .venv, install nnfs-tui with pinned versions, open the app
# make test  — the same set-up, then the whole test suite
# make bench — the same set-up, then the benchmarks (figures in bench-results/)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint train clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,cluster]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/nnfs-tui

train: $(STAMP)
	$(BIN)/nnfs-train

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check engine nnfs_tui tests figs
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks

clean:
	rm -rf $(VENV) bench-results .pytest_cache
