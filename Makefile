# Two commands do everything on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the tests (and the benchmark) need: a browser, Redis, PostgreSQL (the
# tests start throwaway servers of their own), a load generator.
SYSTEM_PACKAGES := chromium redis-server postgresql wrk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps run serve test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
		dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# Development server. DEBUG defaults to on here (static files from static/); with no
# TRAKT_API_KEY it serves the built-in demo data. The checkout gets a random SECRET_KEY of its
# own in .env.local the first time (nowwatching/local_env.py), so manage.py commands work too.
run: install
	$(BIN)/python -m nowwatching.local_env
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:8000

# Production-like: gunicorn (its asgi worker, 2 processes: nowwatching/gunicorn.conf.py),
# DEBUG off, hashed and compressed static files via whitenoise.
# Needs SECRET_KEY (in .env.local or the environment).
serve: install
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/gunicorn -c nowwatching/gunicorn.conf.py --access-logfile -

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: export SECRET_KEY := $(or $(SECRET_KEY),insecure-key-for-tests-only)
test: install system-deps lint
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest
	# The database tests once more, on a throwaway PostgreSQL server.
	$(BIN)/pytest --postgres -m both_databases

# Requests per second, latency and upstream calls per 1000 requests, measured with wrk against
# gunicorn and a fake Trakt/TMDB that takes 300 ms per answer (about a minute).
bench: install system-deps
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm
