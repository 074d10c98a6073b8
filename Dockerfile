# The site as an image: gunicorn as `make serve` runs it, as a non-root user, the database
# and any state in the /data volume. compose.yaml runs it with PostgreSQL and Redis; alone:
#   docker build -t nowwatching .
#   docker run -d -p 8000:8000 -v nowwatching:/data -e SECRET_KEY=... nowwatching
# No setting is baked in: they all come from the environment (.env with compose).
#
# BASE: python:3.11-slim-bookworm by default; any Debian 12 image works (without Python,
# Debian's own python3, 3.11, is installed): `make image-test` builds on one made with
# debootstrap. pip may take a CA bundle as a build secret (never stored in a layer):
#   docker build --secret id=pipca,src=/etc/ssl/certs/ca-certificates.crt ...
ARG BASE=python:3.11-slim-bookworm

# --- What both stages have: Python 3.11, and pg_dump for `manage.py backup` -----------------
# pg_dump, pg_restore and psql come out of Debian's postgresql-client-15 without the package
# itself: it would bring Debian's perl wrapper scripts, and perl with them (47 MB).
FROM ${BASE} AS python
RUN set -eux; \
    packages="libpq5 liblz4-1 libreadline8 libzstd1"; \
    command -v python3 >/dev/null || packages="$packages python3"; \
    apt-get update; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $packages; \
    cd /tmp; \
    apt-get download postgresql-client-15; \
    dpkg-deb --fsys-tarfile postgresql-client-15_*.deb | tar -x -C / \
        ./usr/lib/postgresql/15/bin/pg_dump ./usr/lib/postgresql/15/bin/pg_restore \
        ./usr/lib/postgresql/15/bin/psql; \
    rm postgresql-client-15_*.deb; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log; \
    /usr/lib/postgresql/15/bin/pg_dump --version
ENV PATH=/usr/lib/postgresql/15/bin:$PATH

# --- The runtime's packages (the lock, hash-checked) and the static files -------------------
FROM python AS build
RUN set -eux; \
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv; \
    fi; \
    python3 -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
# pip itself goes afterwards: nothing installs packages at run time.
RUN --mount=type=secret,id=pipca,required=false set -eu; \
    if [ -s /run/secrets/pipca ]; then export PIP_CERT=/run/secrets/pipca; fi; \
    /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
        -r /tmp/requirements.lock; \
    /opt/venv/bin/pip uninstall --yes --quiet pip setuptools; \
    # Translations' sources (Django reads the compiled .mo files only): 11 MB.
    find /opt/venv -name "*.po" -delete
WORKDIR /app
COPY manage.py ./
COPY nowwatching nowwatching
COPY profile profile
COPY templates templates
COPY static static
# Hashed, compressed static files (WhiteNoise); a throwaway key only for this command.
RUN SECRET_KEY=collectstatic-only DEBUG=false /opt/venv/bin/python manage.py collectstatic \
        --noinput --verbosity 0 \
    && /opt/venv/bin/python -m compileall -q /app /opt/venv

# --- The image ------------------------------------------------------------------------------
FROM python
RUN useradd --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin nowwatching \
    && mkdir /data && chown nowwatching:nowwatching /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
ENV PATH=/opt/venv/bin:/usr/lib/postgresql/15/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER nowwatching
VOLUME /data
EXPOSE 8000
# This container's own server, through its own socket (behind a shared port another
# replica could answer); /healthz never calls Trakt.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "/app/nowwatching/healthcheck.py"]
# The database's default, the migrations, the shared port, then the command as PID 1.
ENTRYPOINT ["python", "/app/nowwatching/container.py"]
# gunicorn handles SIGTERM (`docker stop`): it stops accepting, finishes the requests under
# way, and each worker stops its history job at a page's end before it exits.
CMD ["gunicorn", "--config", "nowwatching/gunicorn.conf.py", "--bind", "0.0.0.0:8000", \
     "--graceful-timeout", "20", "--access-logfile", "-"]
