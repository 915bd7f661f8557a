# The two commands a fresh machine needs: `make test` and `make up`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv test up lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(VENV)/bin/ruff check core worker dashboard tests benchmarks
	$(PY) -m pytest -n auto --dist loadfile tests

up: $(STAMP)
	$(VENV)/bin/bnbench up

lint: $(STAMP)
	$(VENV)/bin/ruff check core worker dashboard tests benchmarks
	$(VENV)/bin/ruff format --check core worker dashboard tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/harness_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
