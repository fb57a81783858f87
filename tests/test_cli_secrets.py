"""The CLI's output: no secret in anything the process writes, one plain line for a Telegram
endpoint that is not the Bot API, and `check` failing exactly where `run` would."""

from __future__ import annotations

import io
import json
import sys
import traceback
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram.exceptions import ClientDecodeError
from aiohttp import web

from bot.__main__ import telegram_problem
from bot.output import RedactingStream, redacting_output
from bot.redaction import Redactor
from bot.serving import serve_app
from tests.processes import run_bot

# One shaped like a real token (BOT_TOKEN_SHAPE masks it anyway), one that is not (only the
# redactor's exact match can).
SHAPED = "7312345678:AAH9kq2ZpXw4bL0vN1yR6tUe3sDf8gHjKlM"
UNSHAPED = "4242:not-shaped-like-a-real-one"
PROBLEM = "answered something that is not the Bot API"


class EchoingProxy:
    """What a misconfigured proxy does: 'Cannot POST /bot<token>/getMe', as plain text."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.paths: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        return web.Response(status=self.status, text=f"Cannot {request.method} {request.path}")


@pytest.fixture
async def proxy(request: pytest.FixtureRequest) -> AsyncIterator[tuple[EchoingProxy, str]]:
    proxy = EchoingProxy(request.param)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    async with serve_app(app) as url:
        yield proxy, url


@pytest.mark.slow
@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(("proxy", "token"), [(404, SHAPED), (200, UNSHAPED)], indirect=["proxy"])
async def test_a_non_json_endpoint_that_echoes_the_token_gets_one_plain_line(
    proxy: tuple[EchoingProxy, str], command: str, token: str, tmp_path: Path
) -> None:
    server, url = proxy
    env = {"BOT_TOKEN": token, "TELEGRAM_API_URL": url}
    result = await run_bot(command, env=env, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert any(token in path for path in server.paths)  # the token went out, and came back
    assert token not in output
    assert token.split(":", 1)[1] not in output
    assert result.returncode == 1, output
    assert "Traceback" not in output
    lines = [line for line in result.stderr.splitlines() if PROBLEM in line]
    assert len(lines) == 1, result.stderr
    assert f"Telegram's endpoint at {url} {PROBLEM}: not JSON" in lines[0]
    assert "Cannot POST /bot***/" in lines[0]
    if command == "check":
        assert lines[0].startswith("telegram check failed: ")
        assert result.stderr.strip() == lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("args", [("check", "--offline"), ("check",), ("run",)])
async def test_nothing_configured_fails_check_as_it_fails_run(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    result = await run_bot(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("smmbot: configuration error: BOT_TOKEN:")


@pytest.mark.slow
@pytest.mark.parametrize("args", [("check", "--offline"), ("run",)])
async def test_a_token_aiogram_would_refuse_fails_check_as_it_fails_run(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    result = await run_bot(*args, env={"BOT_TOKEN": "not a token"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("smmbot: configuration error: BOT_TOKEN: not a bot")
    assert "not a token" not in result.stdout + result.stderr


def test_the_redacting_stream_masks_prints_and_tracebacks() -> None:
    redactor = Redactor()
    redactor.add(UNSHAPED)
    sink = io.StringIO()
    stream = RedactingStream(sink, redactor)
    print(f"token {UNSHAPED} and {SHAPED}", file=stream)
    try:
        raise RuntimeError(f"Cannot POST /bot{UNSHAPED}/getMe")
    except RuntimeError:
        traceback.print_exc(file=stream)
    text = sink.getvalue()
    assert UNSHAPED not in text
    assert SHAPED not in text
    assert "token *** and ***" in text
    assert "Cannot POST /bot***/getMe" in text


def test_redacting_output_wraps_the_process_streams_and_puts_them_back() -> None:
    before = sys.stdout, sys.stderr
    redactor = Redactor()
    with redacting_output(redactor):
        assert isinstance(sys.stdout, RedactingStream)
        assert isinstance(sys.stderr, RedactingStream)
        assert sys.stdout.encoding == before[0].encoding
    assert (sys.stdout, sys.stderr) == before


def test_the_problem_line_names_the_endpoint_without_credentials() -> None:
    try:
        json.loads("Cannot POST /bot1:x/getMe\n<html>")
    except ValueError as exc:
        error = ClientDecodeError("Failed to decode object", exc, "Cannot POST\n<html>")
    line = telegram_problem(error, "https://user:pass@proxy.example:8443/tg/")
    assert line == (
        "Telegram's endpoint at https://proxy.example:8443/tg answered something that is not "
        "the Bot API: not JSON ('Cannot POST <html>')"
    )
