"""Logs an operator can ship: LOG_FORMAT=json is one JSON object per line on stderr, each
record made while an update is handled names it, secrets stay out (tracebacks included), and
a quiet bot does not log a line per HTTP request or per update."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Chat, ErrorEvent, Message, Update, User

from bot.config import LogLevel, Settings
from bot.logs import (
    CHATTY_LOGGERS,
    HANDLER_NAME,
    JsonFormatter,
    TextFormatter,
    UpdateFields,
    configure_logging,
    current_update,
    update_context,
)
from bot.redaction import Redactor, redacting_logs
from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.telegram import TelegramEmulator
from handlers.middlewares import LogContext, register_outermost
from tests.helpers import eventually
from tests.processes import pointed_at, start_bot

FIELDS = ("timestamp", "level", "logger", "message")
# A word, as API keys are, and one with characters JSON escapes: were the JSON built before
# redaction, the escaped copy would slip past the redacting stderr.
WORD_SECRET = "k3y-0f-th3-0p3rat0r-account"
ODD_SECRET = 'pa"ss\\word/with-quotes'


class Lines:
    """A handler's output, as lines, and the records it got."""

    def __init__(self, formatter: logging.Formatter) -> None:
        self.sink = io.StringIO()
        self.records: list[logging.LogRecord] = []
        self.handler = logging.StreamHandler(self.sink)
        self.handler.addFilter(UpdateFields())
        self.handler.setFormatter(formatter)
        self.handler.addFilter(self._keep)

    def _keep(self, record: logging.LogRecord) -> bool:
        self.records.append(record)
        return True

    @property
    def lines(self) -> list[str]:
        return self.sink.getvalue().splitlines()

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    """A real logger of its own, at DEBUG, that tells nobody else."""
    log = logging.getLogger(f"tests.logs.{request.node.name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


def attach(log: logging.Logger, formatter: logging.Formatter) -> Lines:
    lines = Lines(formatter)
    log.addHandler(lines.handler)
    return lines


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Whatever `configure_logging` changes is put back afterwards."""
    root = logging.getLogger()
    level = root.level
    levels = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    yield
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, previous in levels.items():
        logging.getLogger(name).setLevel(previous)
    logging.captureWarnings(False)


def utc(timestamp: str) -> datetime:
    assert timestamp.endswith("Z"), timestamp
    moment = datetime.fromisoformat(timestamp)
    assert moment.utcoffset() == timedelta(0), timestamp
    return moment


def test_a_json_line_has_the_fields_and_a_utc_timestamp(logger: logging.Logger) -> None:
    out = attach(logger, JsonFormatter())
    logger.warning("catalog refresh failed: %s", "timeout")
    [line] = out.lines
    entry = json.loads(line)
    assert set(entry) == set(FIELDS)  # no update: no update_id or user_id
    assert entry["level"] == "WARNING"
    assert entry["logger"] == logger.name
    assert entry["message"] == "catalog refresh failed: timeout"
    created = datetime.fromtimestamp(out.records[0].created, tz=UTC)
    assert utc(entry["timestamp"]) == created.replace(
        microsecond=created.microsecond // 1000 * 1000
    )


def test_an_exception_is_one_field_with_the_traceback_on_the_same_line(
    logger: logging.Logger,
) -> None:
    out = attach(logger, JsonFormatter())
    try:
        raise ValueError("the panel answered HTML")
    except ValueError:
        logger.exception("check of order %s failed", 12)
    [line] = out.lines
    entry = json.loads(line)
    assert entry["message"] == "check of order 12 failed"
    assert entry["level"] == "ERROR"
    exception = entry["exception"]
    assert exception.startswith("Traceback (most recent call last):\n")
    assert exception.endswith("ValueError: the panel answered HTML")
    assert "test_an_exception_is_one_field" in exception  # the frame, not just the message


def test_a_secret_in_an_exception_message_is_masked_in_the_json(logger: logging.Logger) -> None:
    out = attach(logger, JsonFormatter())
    redactor = Redactor()
    redactor.add(WORD_SECRET)
    redactor.add(ODD_SECRET)
    with redacting_logs(redactor):
        try:
            raise RuntimeError(f"refused key {WORD_SECRET} and password {ODD_SECRET}")
        except RuntimeError as exc:
            # As handlers/errors.py logs: the exception in the message and as exc_info.
            logger.error("update %s failed: %s", 7, exc, exc_info=exc)
    text = out.sink.getvalue()
    for secret in (WORD_SECRET, ODD_SECRET):
        assert secret not in text
        assert json.dumps(secret)[1:-1] not in text  # nor its JSON-escaped form
    [entry] = out.json()
    assert entry["message"] == "update 7 failed: refused key *** and password ***"
    assert entry["exception"].endswith("RuntimeError: refused key *** and password ***")


def test_text_lines_name_the_update_only_where_known(logger: logging.Logger) -> None:
    out = attach(logger, TextFormatter())
    logger.info("starting")
    with update_context(42, 501):
        logger.info("linked")
    plain, tagged = out.lines
    assert plain.endswith(f" INFO {logger.name}: starting")
    assert "[update" not in plain
    assert tagged.endswith(f" INFO {logger.name} [update 42]: linked")


async def test_records_made_while_an_update_is_handled_name_it_and_its_person(
    logger: logging.Logger,
) -> None:
    out = attach(logger, JsonFormatter())
    dispatcher = Dispatcher()
    register_outermost(dispatcher, LogContext())

    @dispatcher.message()
    async def fail(message: Message) -> None:
        logger.info("handling")

        async def beside() -> None:
            logger.info("in a task started while handling")

        await asyncio.create_task(beside())
        raise RuntimeError("boom")

    @dispatcher.errors()
    async def log_it(event: ErrorEvent) -> bool:
        logger.error("failed: %s", event.exception, exc_info=event.exception)
        return True

    anna = User(id=501, is_bot=False, first_name="Anna")
    update = Update(
        update_id=77,
        message=Message(
            message_id=1,
            date=datetime.now(UTC),
            chat=Chat(id=501, type="private"),
            from_user=anna,
            text="hello",
        ),
    )

    await dispatcher.feed_update(Bot("123456:TEST-logs"), update)
    logger.info("after the update")
    entries = out.json()
    assert [entry["message"] for entry in entries] == [
        "handling",
        "in a task started while handling",
        "failed: boom",
        "after the update",
    ]
    # The error handler's record too: LogContext is outside aiogram's errors middleware.
    for entry in entries[:3]:
        assert (entry.get("update_id"), entry.get("user_id")) == (77, 501), entry
    assert "update_id" not in entries[3]
    assert "user_id" not in entries[3]
    assert "RuntimeError: boom" in entries[2]["exception"]
    assert current_update() is None


async def test_an_update_without_a_person_is_named_without_one(logger: logging.Logger) -> None:
    out = attach(logger, JsonFormatter())
    dispatcher = Dispatcher()
    register_outermost(dispatcher, LogContext())

    @dispatcher.channel_post()
    async def post(message: Message) -> None:
        logger.info("a channel post")

    update = Update(
        update_id=78,
        channel_post=Message(
            message_id=1, date=datetime.now(UTC), chat=Chat(id=-100, type="channel"), text="x"
        ),
    )
    await dispatcher.feed_update(Bot("123456:TEST-logs"), update)
    [entry] = out.json()
    assert entry["update_id"] == 78
    assert "user_id" not in entry


@pytest.mark.usefixtures("root_logging")
@pytest.mark.parametrize(
    ("level", "chatty_shown", "httpx_warning_shown"),
    [("INFO", False, True), ("DEBUG", True, True), ("ERROR", False, False)],
)
def test_httpx_requests_and_aiogram_updates_are_logged_only_at_debug(
    level: LogLevel,
    chatty_shown: bool,
    httpx_warning_shown: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings.model_construct(log_level=level, log_format="json"))
    configure_logging(Settings.model_construct(log_level=level, log_format="json"))  # replaces
    ours = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    assert len(ours) == 1
    logging.getLogger("httpx").info('HTTP Request: POST http://panel/ "HTTP/1.1 200 OK"')
    logging.getLogger("aiogram.event").info("Update id=5 is handled. Duration 3 ms by bot id=1")
    logging.getLogger("httpx").warning("an httpx warning")
    logging.getLogger("aiogram.dispatcher").error("Failed to fetch updates")
    logging.getLogger("aiogram.dispatcher").info("Start polling")
    captured = capsys.readouterr()
    assert captured.out == ""
    messages = [json.loads(line)["message"] for line in captured.err.splitlines()]
    assert ('HTTP Request: POST http://panel/ "HTTP/1.1 200 OK"' in messages) is chatty_shown
    assert any(m.startswith("Update id=5 is handled") for m in messages) is chatty_shown
    assert ("an httpx warning" in messages) is httpx_warning_shown
    assert "Failed to fetch updates" in messages
    assert ("Start polling" in messages) is (level != "ERROR")


@pytest.mark.usefixtures("root_logging")
def test_text_stays_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings.model_construct())
    logging.getLogger("bot.app").info("starting: polling")
    line = capsys.readouterr().err.strip()
    assert line.endswith(" INFO bot.app: starting: polling")
    assert not line.startswith("{")


@pytest.mark.slow
async def test_the_running_bot_logs_json_lines_that_name_the_update(
    telegram: tuple[TelegramEmulator, str],
    panel: SandboxPanel,
    panel_url: str,
    alice: Account,
    tmp_path: Path,
) -> None:
    emulator, _ = telegram
    env = pointed_at(telegram, panel_url, alice) | {
        "ALLOWED_USERS": "501",
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    process = await start_bot("run", env=env, cwd=tmp_path)
    try:
        await asyncio.wait_for(emulator.polled.wait(), 60)
        anna = emulator.user(501, "Anna")
        # Telegram refuses the greeting, quoting the token: the update fails, and the error
        # handler logs it with its traceback before it tells Anna.
        emulator.fail_next(
            "sendMessage", 400, description=f"Bad Request: no chat for bot{emulator.token}"
        )
        update_id = await anna.send("/start", wait=False)
        await eventually(lambda: anna.bot_messages, within=30, message="no answer to /start")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    stderr = err.decode()
    assert process.returncode == 0, stderr
    assert "Something went wrong" in anna.last_message.text
    assert out.decode() == ""  # the logs are on stderr
    for secret in (emulator.token, alice.api_key):
        assert secret not in stderr

    entries = []
    for line in stderr.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    for entry in entries:
        assert all(isinstance(entry.get(key), str) for key in FIELDS), entry
        utc(entry["timestamp"])

    handling = [entry for entry in entries if entry.get("update_id") == update_id]
    assert handling, stderr
    assert all(entry.get("user_id") == 501 for entry in handling)
    [failure] = [entry for entry in handling if entry["logger"] == "handlers.errors"]
    assert failure["level"] == "ERROR"
    assert failure["message"].startswith(f"update {update_id} failed: ")
    assert "TelegramBadRequest" in failure["exception"]
    assert "no chat for bot***" in failure["exception"]

    # Quiet: the panel was asked (over httpx), yet no request line; no line per update;
    # the start and stop lines stay, and name no update.
    assert sum(panel.calls.values()) > 0
    assert not [e for e in entries if e["logger"].startswith(("httpx", "httpcore"))]
    assert not [e for e in entries if e["message"].startswith("HTTP Request")]
    assert not [e for e in entries if e["message"].startswith("Update id=")]
    [starting] = [e for e in entries if e["message"].startswith("starting:")]
    assert "update_id" not in starting
    assert any(e["message"] == "Start polling" for e in entries)
    assert any(e["message"] == "Polling stopped" for e in entries)
