# syntax=docker/dockerfile:1
# A patch release, not `3.11-slim`: the interpreter changes only when this line does.
FROM python:3.11.18-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/smmbot.sqlite3 \
    HEALTH_PORT=8080

WORKDIR /app

# Dependencies first, from the lock alone (rebuilt only when it changes): every version
# pinned, every file checked against its hash, wheels only (slim has no compiler).
COPY requirements.lock ./
RUN pip install -q --require-hashes --only-binary=:all: -r requirements.lock

# The project itself, without its dependencies (the lock brought them), built by the base
# image's setuptools rather than one downloaded unpinned; pip check fails the build if the
# lock misses anything pyproject.toml asks for.
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY webapp ./webapp
RUN pip install -q --no-deps --no-build-isolation --check-build-dependencies . && pip check

RUN useradd --create-home --uid 10001 smmbot && mkdir /data && chown smmbot:smmbot /data
USER smmbot
VOLUME ["/data"]
# The webhook server (WEBHOOK_URL set, WEBHOOK_PORT) or, when polling, the health server
# (HEALTH_PORT): /healthz, /readyz and /metrics are on this port either way.
EXPOSE 8080

# Asks the running bot (/healthz on 127.0.0.1): a few standard modules, no settings, no
# aiogram. 503 while starting: the start period covers start-up.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.probe"]

CMD ["smmbot", "run"]
