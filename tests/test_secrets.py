"""The pieces that keep secrets: the Fernet box and its key, and the log redaction."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.config import ConfigError, Settings
from bot.redaction import Redactor, redacting_logs
from bot.secretbox import SecretBox, SecretBoxError, key_file_for, load_secret_box

KEY = "k3y-0f-the-panel-1234567890abcdef"


def settings(tmp_path: Path, secret: str | None = None) -> Settings:
    return Settings(
        _env_file=None,
        database_path=tmp_path / "bot.sqlite3",
        bot_secret_key=None if secret is None else SecretStr(secret),
    )


def test_a_sealed_key_opens_for_its_owner_only() -> None:
    box = SecretBox([Fernet.generate_key()])
    sealed = box.seal(501, KEY)
    assert KEY.encode() not in sealed
    assert box.open(501, sealed) == KEY
    with pytest.raises(SecretBoxError):
        box.open(666, sealed)  # a row copied onto another user does not open
    with pytest.raises(SecretBoxError):
        SecretBox([Fernet.generate_key()]).open(501, sealed)
    assert "k3y" not in repr(box)


def test_keys_rotate_with_the_new_one_first() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = SecretBox([old]).seal(1, KEY)
    rotated = SecretBox([new, old])
    assert rotated.open(1, sealed) == KEY
    assert SecretBox([new]).open(1, rotated.seal(1, KEY)) == KEY


def test_the_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_secret_box(settings(tmp_path), stored_secrets=0)
    path = key_file_for(tmp_path / "bot.sqlite3")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_secret_box(settings(tmp_path), stored_secrets=1)
    assert again.open(7, first.seal(7, KEY)) == KEY


@pytest.mark.parametrize("content", ["not-a-fernet-key\n", " , "])
def test_a_damaged_key_file_is_one_clear_line(tmp_path: Path, content: str) -> None:
    key_file_for(tmp_path / "bot.sqlite3").write_text(content, encoding="ascii")
    with pytest.raises(ConfigError, match=r"BOT_SECRET_KEY: the key file .* holds no Fernet key"):
        load_secret_box(settings(tmp_path), stored_secrets=0)


def test_redaction_covers_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "7012345678:AAHk3vQ9mZ2xR8tLpW4yN6bC1dF5gJ0sUeVi"
    redactor = Redactor()
    redactor.add(KEY)
    caplog.set_level(logging.DEBUG)
    with redacting_logs(redactor):
        logging.getLogger("httpx").info(
            "HTTP Request: POST https://api.telegram.org/bot%s/x", token
        )
        logging.getLogger("aiogram").debug("key=%s", KEY)
        try:
            raise RuntimeError(f"panel said {KEY}")
        except RuntimeError:
            logging.getLogger("bot").exception("failed")
        logging.getLogger("bot").info("stack", stack_info=True, extra={"k": 1})
    logging.getLogger("after").info("plain %s", KEY)  # outside the block: untouched
    inside, outside = caplog.text.rsplit("plain", 1)
    assert token.split(":")[1] not in inside
    assert KEY not in inside
    assert "bot***/x" in inside
    assert "key=***" in inside
    assert "panel said ***" in inside  # the traceback
    assert KEY in outside
