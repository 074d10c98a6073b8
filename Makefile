# Two commands do everything on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
# The development venv: the runtime and the `dev` extra (tests, ruff, Playwright).
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The production venv of `make serve`: the runtime alone, from the hash-pinned lock.
SERVE_VENV := .venv-serve
SERVE_BIN := $(SERVE_VENV)/bin
SERVE_STAMP := $(SERVE_VENV)/.installed
# Debian packages the tests (and the benchmark) need: a browser, Redis, PostgreSQL (the
# tests start throwaway servers of their own; the backup tests use its pg_dump and
# pg_restore), a load generator.
SYSTEM_PACKAGES := chromium redis-server postgresql postgresql-client wrk
# What `make image-test` needs: Debian's Docker and Compose, and debootstrap for a base image
# (no image registry is needed).
IMAGE_PACKAGES := docker.io docker-compose debootstrap
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install system-deps run serve test lint format bench lock image-test clean

# The runtime at the lock's versions first, so the tests run what production runs.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(SERVE_STAMP): requirements.lock
	$(PYTHON) -m venv $(SERVE_VENV)
	$(SERVE_BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $(SERVE_STAMP)

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

# Production: gunicorn (its asgi worker, 2 processes: nowwatching/gunicorn.conf.py),
# DEBUG off, hashed and compressed static files via whitenoise, from .venv-serve (the
# runtime alone: no test or development tool). Needs SECRET_KEY (in .env.local or the
# environment).
serve: $(SERVE_STAMP)
	$(SERVE_BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(SERVE_BIN)/python manage.py migrate --noinput
	$(SERVE_BIN)/gunicorn -c nowwatching/gunicorn.conf.py --access-logfile -

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
	$(BIN)/python bench/transfer.py

# requirements.lock again from pyproject.toml's dependencies (after changing them), with
# uv in a throwaway venv.
lock:
	tmp=$$(mktemp -d) && $(PYTHON) -m venv $$tmp && $$tmp/bin/pip install --quiet uv && \
	$$tmp/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
		--python-platform linux --custom-compile-command "make lock" --quiet \
		-o requirements.lock; status=$$?; rm -rf $$tmp; exit $$status

# The image and the compose file, built and run here (tests/image/: Docker, a base image
# made with debootstrap when none is there, the site with PostgreSQL and Redis, scaled to 3).
# Not part of `make test`: it needs Docker and some minutes.
image-test: export SECRET_KEY := $(or $(SECRET_KEY),insecure-key-for-tests-only)
image-test: install
	@$(MAKE) --no-print-directory system-deps SYSTEM_PACKAGES="$(IMAGE_PACKAGES)"
	$(BIN)/pytest --image tests/image -v -s

clean:
	rm -rf $(VENV) $(SERVE_VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm db.sqlite3.migrate-lock
