# Glimpse: `make run` serves the app, `make test` runs every test. Both set everything up first.
PYTHON ?= $(shell command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser the tests drive (a command or a path); tests/conftest.py reads it too.
export CHROMIUM ?= chromium
# Root installs system packages itself, anyone else through passwordless sudo.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo -n)

.PHONY: run test install css system-packages lint bench clean

# A bare local start (neither MAIL_SERVER nor BASE_URL set) turns the development mail viewer on,
# unless DEV_MAIL_VIEWER says otherwise; any other start leaves it off unless asked for.
run: install css
	@if [ -z "$$MAIL_SERVER$$BASE_URL" ]; then export DEV_MAIL_VIEWER="$${DEV_MAIL_VIEWER-1}"; fi; \
	echo "$(BIN)/python run.py (DEV_MAIL_VIEWER=$${DEV_MAIL_VIEWER:-0})"; \
	$(BIN)/python run.py

test: install css system-packages
	$(BIN)/python -m pytest $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 13))' || { echo "Python >= 3.13 is needed (found $(PYTHON))"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Debian's chromium, when it is missing and we may install it; otherwise one line says what to
# run, and the browser tests fail.
system-packages:
	@command -v $(CHROMIUM) >/dev/null \
	|| { $(SUDO) true 2>/dev/null && $(SUDO) apt-get update -qq \
	     && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	|| echo "Chromium is missing, so the browser tests will fail: run 'sudo apt-get install chromium' first."

lint: install
	$(BIN)/ruff check app ml_models tests bench run.py
	$(BIN)/bandit -q -r app ml_models bench run.py -c pyproject.toml
	$(BIN)/mypy

bench: install css
	$(BIN)/python -m bench $(BENCH_ARGS)

css: install
	$(BIN)/python -m app.core.assets

clean:
	rm -rf $(VENV) static/css/app.css
