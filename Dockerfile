# syntax=docker/dockerfile:1
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/smmbot.sqlite3

WORKDIR /app

# Dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -q -r /tmp/requirements.txt

# The project itself, installed the way CI installs it (pip install from pyproject.toml).
COPY README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
RUN pip install -q --no-deps .

RUN useradd --create-home --uid 10001 smmbot && mkdir /data && chown smmbot:smmbot /data
USER smmbot
VOLUME ["/data"]
# Webhook mode listens here (WEBHOOK_URL, WEBHOOK_PORT); polling needs no port.
EXPOSE 8080

# Validates the configuration without spending panel or Telegram calls.
HEALTHCHECK --interval=60s --timeout=10s --start-period=10s --retries=3 \
    CMD ["smmbot", "check", "--offline"]

CMD ["smmbot", "run"]
