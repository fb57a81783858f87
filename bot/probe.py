"""`python -m bot.probe [healthz|readyz]` (healthz by default): the container's health check.
GETs the bot's own /healthz or /readyz on 127.0.0.1 and exits 0 on 200; otherwise 1, with
one line on stderr. Never 2: Docker reserves that exit code.

It runs every 30 seconds beside the bot, so it imports nothing but a few standard modules:
no settings (pydantic), no aiogram, not even http.client (its header parsing pulls in the
email package, which doubles the probe's start-up in an image without bytecode caches).

The port follows the bot's rules (bot/config.py): with WEBHOOK_URL set, the webhook server
on WEBHOOK_PORT (8080 by default); without it, HEALTH_PORT, and no server at all when that is
unset. Like the settings, the names are case-insensitive and the environment overrides
`.env` in the working directory.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Mapping, Sequence

PATHS = ("healthz", "readyz")
# /readyz may take a database write and a getMe of up to 5 s each (bot/status_server.py);
# /healthz answers from memory.
TIMEOUTS = {"healthz": 5.0, "readyz": 12.0}
DEFAULT_WEBHOOK_PORT = 8080
VARIABLES = ("webhook_url", "webhook_port", "health_port")
HOST = "127.0.0.1"


class ProbeError(Exception):
    """Why the probe failed, as the one line it prints."""


def read_dotenv(path: str) -> dict[str, str]:
    """`KEY=value` lines of a `.env` file, names lower-cased, as python-dotenv reads them for
    pydantic-settings: `export ` prefixes, quotes and ` #` comments after a bare value."""
    try:
        with open(path, encoding="utf-8") as file:
            lines = file.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    values: dict[str, str] = {}
    for raw in lines:
        line = raw.strip()
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, sep, value = line.partition("=")
        if not sep or not name.strip() or name.lstrip().startswith("#"):
            continue
        value = value.strip()
        if value[:1] in ("'", '"') and value[:1] in value[1:]:
            value = value[1 : value.index(value[0], 1)]
        else:
            value = value.split(" #", 1)[0].strip()
        values[name.strip().lower()] = value
    return values


def variables(environ: Mapping[str, str], dotenv: str = ".env") -> dict[str, str]:
    """The variables that choose the port: the environment over `.env`, names lower-cased."""
    found = {name: value for name, value in read_dotenv(dotenv).items() if name in VARIABLES}
    found.update({k.lower(): v for k, v in environ.items() if k.lower() in VARIABLES})
    return found


def _port(name: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ProbeError(f"{name.upper()} is not a port number: {text!r}")
    return int(text)


def choose_port(found: Mapping[str, str]) -> int:
    """Webhook mode (WEBHOOK_URL set): WEBHOOK_PORT or 8080. Polling: HEALTH_PORT."""
    if found.get("webhook_url", "").strip():
        webhook_port = found.get("webhook_port", "").strip()
        return _port("webhook_port", webhook_port or str(DEFAULT_WEBHOOK_PORT))
    health = found.get("health_port", "").strip()
    if not health:
        raise ProbeError(
            "HEALTH_PORT is not set: in polling mode the bot serves /healthz only on it"
        )
    return _port("health_port", health)


def get(port: int, path: str, timeout: float) -> tuple[int, str]:
    """(status code, status line and the body's first line) of `GET /path` on 127.0.0.1."""
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{port}/{path}"
    request = f"GET /{path} HTTP/1.0\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
    response = b""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as connection:
            connection.sendall(request.encode("ascii"))
            # The verdict is a short JSON object: 4 KiB holds it and bounds a stranger's answer.
            while len(response) < 4096:
                connection.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = connection.recv(4096)
                if not chunk:
                    break
                response += chunk
    except TimeoutError:
        raise ProbeError(f"{url}: no answer within {timeout:g} s") from None
    except OSError as exc:
        raise ProbeError(f"{url}: {exc.strerror or exc}") from None
    head, _, body = response.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise ProbeError(f"{url}: not an HTTP answer: {status_line[:80]!r}")
    detail = next(iter(body.decode("utf-8", "replace").strip().splitlines()), "")[:300]
    return int(code), f"{url}: {rest}" + (f" {detail}" if detail else "")


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0] not in PATHS):
        print(f"usage: python -m bot.probe [{'|'.join(PATHS)}]", file=sys.stderr)
        return 1
    path = args[0] if args else "healthz"
    try:
        port = choose_port(variables(os.environ if environ is None else environ))
        code, summary = get(port, path, TIMEOUTS[path])
    except ProbeError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    if code != 200:
        print(f"{path}: {summary}", file=sys.stderr)
        return 1
    print(f"{path}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
