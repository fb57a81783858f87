"""Rotating BOT_SECRET_KEY, end to end: a start with `new,old` re-seals the stored keys with
`new`, so a later start with `new` alone still opens every linked account."""

from __future__ import annotations

import logging
import secrets
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from bot.app import running
from bot.config import ConfigError
from bot.sandbox.panel import Account, SandboxPanel
from tests.conftest import BOB, BotFactory
from tests.flows import place_order
from tests.harness import BotHarness

CAROL = "carol@example.com"
RESEALED = "re-sealed {} linked accounts' keys with the first BOT_SECRET_KEY"


@pytest.fixture
def carol(panel: SandboxPanel) -> Account:
    return panel.add_account(CAROL, secrets.token_hex(20), "300")


def with_keys(make_bot: BotFactory, *keys: bytes) -> BotHarness:
    """Personal mode on the same database file each time, with `BOT_SECRET_KEY=k1,k2,...`."""
    value = ",".join(key.decode() for key in keys)
    return make_bot(operator=None, access="open", bot_secret_key=SecretStr(value))


def sealed_keys(database: Path) -> dict[int, bytes]:
    with sqlite3.connect(database) as raw:
        rows = raw.execute(
            "SELECT id, panel_apikey FROM users WHERE panel_apikey IS NOT NULL"
        ).fetchall()
    return {user_id: bytes(sealed) for user_id, sealed in rows}


def resealed_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "re-sealed" in r.getMessage()]


async def test_rotated_keys_are_resealed_so_the_old_key_can_be_dropped(
    make_bot: BotFactory, bob: Account, carol: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    old, new = Fernet.generate_key(), Fernet.generate_key()

    async with with_keys(make_bot, old).running() as first:
        for user_id, name, account in ((801, "Bob", bob), (802, "Carol", carol)):
            user = first.user(user_id, name)
            await user.send("/connect")
            await user.send(account.username)
            await user.send(account.api_key)
            assert "✅ Linked" in user.last_message.text
        database = first.settings.database_path
    under_old = sealed_keys(database)
    assert set(under_old) == {801, 802}
    assert resealed_logs(caplog) == []  # one key only: nothing to re-seal

    caplog.clear()
    async with with_keys(make_bot, new, old).running() as rotating:
        bobby = rotating.user(801, "Bob")
        await bobby.send("/balance")
        assert "💰 Balance: RUB\u00a0500.00" in bobby.last_message.text
    assert resealed_logs(caplog) == [RESEALED.format(2)]
    under_new = sealed_keys(database)
    assert set(under_new) == {801, 802}
    for user_id, sealed in under_new.items():
        assert sealed != under_old[user_id]
        assert Fernet(new).decrypt(sealed).startswith(f"{user_id}:".encode())
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(sealed)

    caplog.clear()
    async with with_keys(make_bot, new, old).running():  # already re-sealed: nothing to do
        pass
    assert resealed_logs(caplog) == []
    assert sealed_keys(database) == under_new

    async with with_keys(make_bot, new).running() as rotated:  # `old` dropped
        bobby = rotated.user(801, "Bob")
        await bobby.send("/balance")
        assert "💰 Balance: RUB\u00a0500.00" in bobby.last_message.text
        caroline = rotated.user(802, "Carol")
        await place_order(caroline, amount="100")
        assert "📦 Order #" in caroline.last_message.text
        [add] = [r for r in rotated.panel.requests if r.action == "add"]
        assert add.username == CAROL
    assert resealed_logs(caplog) == []


async def test_a_key_no_secret_opens_still_stops_start_up_and_is_not_rewritten(
    make_bot: BotFactory, bob: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    lost, old, new = Fernet.generate_key(), Fernet.generate_key(), Fernet.generate_key()
    async with with_keys(make_bot, lost).running() as first:
        bobby = first.user(801, "Bob")
        await bobby.send("/connect")
        await bobby.send(BOB)
        await bobby.send(bob.api_key)
        assert "✅ Linked" in bobby.last_message.text
        settings = first.settings
    before = sealed_keys(settings.database_path)

    wrong = settings.model_copy(
        update={"bot_secret_key": SecretStr(f"{new.decode()},{old.decode()}")}
    )
    with pytest.raises(ConfigError, match="BOT_SECRET_KEY: 1 of 1 stored API keys do not open"):
        async with running(wrong):
            pass
    assert sealed_keys(settings.database_path) == before
    assert resealed_logs(caplog) == []

    async with with_keys(make_bot, new, lost).running() as recovered:  # the right key is back
        bobby = recovered.user(801, "Bob")
        await bobby.send("/balance")
        assert "💰 Balance: RUB\u00a0500.00" in bobby.last_message.text
    assert resealed_logs(caplog) == [RESEALED.format(1)]
