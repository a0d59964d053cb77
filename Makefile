# The two set-up commands of the README: `make run` and `make test`.
# Each creates the virtual environment and installs what it needs by itself.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/recouvrement db upgrade
	$(VENV)/bin/recouvrement demo load --if-empty --activity
	$(VENV)/bin/recouvrement serve --host $(HOST) --port $(PORT)

test: install
	@bash scripts/test-deps.sh $(VENV)
	$(VENV)/bin/ruff check src tests benchmarks
	@$(PY) -m pytest -n 2 $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "Aucun test exécuté : échec."; exit 1; fi; exit $$rc

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

bench: install
	$(PY) benchmarks/ledger.py

clean:
	rm -rf $(VENV) var .pytest_cache
