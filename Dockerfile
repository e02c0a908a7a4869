# syntax=docker/dockerfile:1
# The API in one container: `docker run -e DATABASE_URL=postgresql://… IMAGE` serves on port 8000. Without
# DATABASE_URL it starts the embedded PostgreSQL with its data in /data (mount a volume there). The web client
# is served at /. `docker stop` sends SIGTERM: in-flight requests finish (KARNGAR_SHUTDOWN_TIMEOUT, 30 s by
# default; give `docker stop -t` a little more), new ones are refused, the embedded PostgreSQL stops cleanly.
# tests/test_container.py lints this file with hadolint and runs its CMD and HEALTHCHECK outside Docker.

# --- build: a virtual environment with the project and its dependencies (all wheels, no compiler needed)
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY auth auth
COPY db db
COPY migrations migrations
COPY resolvers resolvers
COPY schema schema
COPY web web
# Editable, so the package finds web/ beside it in /app (the same path in the runtime stage).
RUN pip install --no-cache-dir -e .

# --- runtime: the venv and the source, no pip cache, no build files, a user without privileges
FROM python:3.11-slim AS runtime

RUN groupadd --system --gid 10001 karngar \
    && useradd --system --uid 10001 --gid karngar --home-dir /data --no-create-home --shell /usr/sbin/nologin karngar \
    && mkdir -p /data \
    && chown karngar:karngar /data \
    && chmod 0700 /data

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/data \
    KARNGAR_HOST=0.0.0.0 \
    KARNGAR_PORT=8000 \
    KARNGAR_DATA_DIR=/data \
    KARNGAR_LOG_FORMAT=json

WORKDIR /app
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["karngar", "healthcheck"]
CMD ["karngar", "serve"]
