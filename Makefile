# The two commands a fresh machine needs: `make test` and `make up`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv tools browser compose kubectl test up lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The browser test drives Debian's chromium (Playwright's own download is not reachable).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  >/dev/null; } || echo "make: no chromium and not root; the browser test will skip"

# Debian's docker-compose validates the compose files (no Docker engine needed for `config`).
compose:
	@command -v docker-compose >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	  --no-install-recommends docker-compose >/dev/null; } || \
	  echo "make: no docker-compose and not root; the compose tests will skip"

# kubectl renders deploy/k8s (kubectl kustomize) in tests/deploy/test_kubernetes.py; these
# machines carry it (Google Cloud SDK's package), which apt installs where it is missing.
kubectl:
	@command -v kubectl >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get install -y -qq kubectl >/dev/null 2>&1; } || \
	  echo "make: no kubectl and none to install; the Kubernetes manifest tests will skip"

tools: browser compose kubectl

test: $(STAMP) tools
	$(VENV)/bin/ruff check cli core worker dashboard tests benchmarks
	$(VENV)/bin/mypy
	$(PY) -m pytest -n auto --dist loadfile tests

up: $(STAMP)
	$(VENV)/bin/bnbench up $(if $(PORT),--port $(PORT))

lint: $(STAMP)
	$(VENV)/bin/ruff check cli core worker dashboard tests benchmarks
	$(VENV)/bin/ruff format --check cli core worker dashboard tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) benchmarks/harness_overhead.py
	$(PY) benchmarks/measurement_overhead.py
	$(PY) benchmarks/db_scale.py
	$(PY) benchmarks/queue_bench.py
	$(PY) benchmarks/dashboard.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
