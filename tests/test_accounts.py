"""Accounts and access, end to end: who gets in, /connect, /account, /disconnect, keys at rest,
secrets in logs, throttling and the admin commands."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.app import running
from bot.config import ConfigError
from bot.sandbox.catalog import builtin_catalog
from bot.sandbox.panel import Account, SandboxPanel
from bot.sandbox.telegram import SimulatedUser, TelegramEmulator
from bot.sandbox.telegram import serve as serve_telegram
from bot.secretbox import key_file_for
from storage.db import Database
from tests.conftest import ALICE, BOB, BotFactory
from tests.flows import place_order
from tests.harness import BotHarness
from tests.helpers import FAST_NOTIFIER, FAST_TRACKING, eventually, finished

# Shaped like a real token, so the redaction test also proves the shape rule.
REAL_LOOKING_TOKEN = "7012345678:AAHk3vQ9mZ2xR8tLpW4yN6bC1dF5gJ0sUeVi"


async def connect(user: SimulatedUser, email: str, api_key: str) -> None:
    await user.send("/connect")
    await user.send(email)
    await user.send(api_key)


def database_bytes(directory: Path) -> bytes:
    """The database, its WAL and anything else SQLite keeps beside it, as stored."""
    return b"".join(path.read_bytes() for path in sorted(directory.glob("bot.sqlite3*")))


def sealed_key(harness: BotHarness, user_id: int) -> bytes | None:
    with sqlite3.connect(harness.settings.database_path) as raw:
        row = raw.execute("SELECT panel_apikey FROM users WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else row[0]


# -- who gets in --------------------------------------------------------------------------


async def test_an_outsider_is_refused_in_personal_mode(
    make_bot: BotFactory, panel: SandboxPanel
) -> None:
    harness = make_bot(operator=None, allowed_users=frozenset({801}))
    async with harness.running():
        stranger = harness.user(999, "Stranger")
        for text in ("/start", "/connect", "bob@example.com", "/balance"):
            await stranger.send(text)
            assert stranger.last_message.text.startswith("This bot is private. Your Telegram id")
            assert stranger.last_message.button_labels == []
        assert sum(panel.calls.values()) == 0
        member = harness.user(801, "Member")
        await member.send("/start")
        assert "link your SMMLaba account" in member.last_message.text
        assert member.last_message.button_labels[0] == "🔗 Link my SMMLaba account"


async def test_without_an_account_browsing_asks_to_link_one(personal: BotHarness) -> None:
    carol = personal.user(802, "Carol")
    await carol.send("/balance")
    assert "First link your SMMLaba account: send /connect" in carol.last_message.text
    await carol.send("/start")
    await carol.press("🛒 New order")
    assert "First link your SMMLaba account" in carol.last_message.text
    assert carol.last_message.button_labels == ["🔗 Link my SMMLaba account", "🏠 Menu"]
    await carol.send("/account")
    assert "No SMMLaba account is linked yet" in carol.last_message.text
    assert sum(personal.panel.calls.values()) == 0


# -- /connect -----------------------------------------------------------------------------


async def test_a_personal_user_orders_on_their_own_account(
    personal: BotHarness, bob: Account
) -> None:
    bobby = personal.user(801, "Bob")
    await bobby.send("/start")
    await bobby.press("🔗 Link my SMMLaba account")
    assert "Send the e-mail you log in to SMMLaba with" in bobby.last_message.text
    await bobby.send("bob at example")
    assert "doesn't look like an e-mail address" in bobby.last_message.text
    await bobby.send(BOB)
    assert "Now send your API key for bob@example.com" in bobby.last_message.text
    await bobby.send(bob.api_key)
    assert all(m.text != bob.api_key for m in bobby.messages), "the key message must be deleted"
    assert any(m.text == bob.api_key for m in personal.emulator.messages[801])  # it was sent
    result = bobby.last_message.text
    assert "🔒 I deleted your message with the key." in result
    assert "✅ Linked b***@example.com. Balance: RUB\u00a0500.00." in result
    assert sealed_key(personal, 801) is not None

    await place_order(bobby, amount="100")
    assert "📦 Order #" in bobby.last_message.text
    [add] = [r for r in personal.panel.requests if r.action == "add"]
    assert add.username == BOB  # the panel saw Bob's credentials
    assert personal.panel.accounts[BOB].balance < 500


async def test_a_wrong_key_is_refused_and_not_stored(personal: BotHarness, bob: Account) -> None:
    bobby = personal.user(801, "Bob")
    await bobby.send("/connect")
    await bobby.send(BOB)
    await bobby.send("0" * 32)
    assert all(m.text != "0" * 32 for m in bobby.messages)  # deleted
    text = bobby.last_message.text
    assert "❌ The panel didn't accept the account's e-mail and API key." in text
    assert "Nothing was saved. Send the key again" in text
    assert sealed_key(personal, 801) is None
    await bobby.send("not a key!")  # the form is still there: a second try
    assert "doesn't look like an API key" in bobby.last_message.text
    await bobby.press("✏️ Another e-mail")
    await bobby.send(BOB)
    await bobby.send(bob.api_key)
    assert "✅ Linked" in bobby.last_message.text


async def test_panel_down_while_verifying_stores_nothing(
    personal: BotHarness, bob: Account
) -> None:
    bobby = personal.user(801, "Bob")
    await bobby.send("/connect")
    await bobby.send(BOB)
    personal.panel.set_faults(html_rate=1.0)
    await bobby.send(bob.api_key)
    assert "SMMLaba isn't answering" in bobby.last_message.text
    assert "Nothing was saved" in bobby.last_message.text
    assert sealed_key(personal, 801) is None


async def test_own_account_takes_precedence_over_the_operators(
    harness: BotHarness, bob: Account
) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/account")
    assert "the bot's shared SMMLaba account: al***@example.com" in anna.last_message.text
    await place_order(anna, amount="100")  # an allowlisted member orders on the operator's account
    await connect(anna, BOB, bob.api_key)
    await anna.send("/account")
    assert "your own SMMLaba account: b***@example.com" in anna.last_message.text
    assert "💰 Balance: RUB\u00a0500.00" in anna.last_message.text
    await place_order(anna, amount="100")
    adds = [r.username for r in harness.panel.requests if r.action == "add"]
    assert adds == [ALICE, BOB]


async def test_disconnect_removes_the_key_after_confirmation(
    personal: BotHarness, bob: Account
) -> None:
    bobby = personal.user(801, "Bob")
    await connect(bobby, BOB, bob.api_key)
    await bobby.send("/disconnect")
    assert "Unlink b***@example.com?" in bobby.last_message.text
    await bobby.press("Keep it")
    assert sealed_key(personal, 801) is not None
    await bobby.send("/account")
    await bobby.press("🔌 Unlink this account")
    await bobby.press("🔌 Yes, unlink and delete the key")
    assert "the key is deleted" in bobby.last_message.text
    assert sealed_key(personal, 801) is None
    await bobby.send("/balance")
    assert "First link your SMMLaba account" in bobby.last_message.text
    await personal.restart()  # and it stays gone
    await bobby.send("/balance")
    assert "First link your SMMLaba account" in bobby.last_message.text


async def test_a_linked_account_survives_a_restart(personal: BotHarness, bob: Account) -> None:
    bobby = personal.user(801, "Bob")
    await connect(bobby, BOB, bob.api_key)
    await personal.restart()
    await bobby.send("/balance")
    assert "💰 Balance: RUB\u00a0500.00" in bobby.last_message.text


# -- keys at rest -------------------------------------------------------------------------


async def test_the_key_file_is_private_and_a_wrong_or_missing_key_stops_start_up(
    personal: BotHarness, bob: Account
) -> None:
    bobby = personal.user(801, "Bob")
    await connect(bobby, BOB, bob.api_key)
    await personal.stop()
    key_file = key_file_for(personal.settings.database_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    other = personal.settings.model_copy(
        update={"bot_secret_key": SecretStr(Fernet.generate_key().decode())}
    )
    with pytest.raises(ConfigError, match="BOT_SECRET_KEY: 1 of 1 stored API keys do not open"):
        async with running(other):
            pass
    saved = key_file.read_bytes()
    key_file.unlink()
    with pytest.raises(ConfigError, match=r"key file .* is missing, but the database holds 1"):
        async with running(personal.settings):
            pass
    assert not key_file.exists()  # no new key was made to shadow the lost one
    key_file.write_bytes(saved)
    with_env_key = personal.settings.model_copy(
        update={"bot_secret_key": SecretStr(saved.decode().strip())}
    )
    key_file.unlink()
    async with running(with_env_key) as (_bot, _dispatcher, services):
        assert services.accounts.linked(801) is not None  # BOT_SECRET_KEY opens it too
    key_file.write_bytes(saved)
    await personal.start()


async def test_no_secret_in_the_database_or_the_logs(
    panel: SandboxPanel,
    panel_url: str,
    alice: Account,
    bob: Account,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = TelegramEmulator(token=REAL_LOOKING_TOKEN)
    async with serve_telegram(emulator) as telegram_url:
        harness = BotHarness(
            emulator,
            telegram_url,
            panel,
            panel_url,
            alice,
            tmp_path / "bot.sqlite3",
            log_level="DEBUG",
        )
        async with harness.running():
            anna = harness.user(501, "Anna")
            await place_order(anna, amount="100")  # on the operator's account
            await connect(anna, BOB, "f" * 32)  # a wrong key first
            await anna.send(bob.api_key)
            await place_order(anna, amount="100")  # on her own
            panel.set_faults(html_rate=1.0)  # failures log their causes
            await anna.send("/balance")
            panel.set_faults()
            logging.getLogger("test").info("token %s key %s", REAL_LOOKING_TOKEN, bob.api_key)
            while_running = database_bytes(tmp_path)  # the WAL holds the latest writes
    assert sealed_key(harness, 501) is not None

    secrets_ = {
        "bot token": REAL_LOOKING_TOKEN.split(":")[1],
        "operator key": alice.api_key,
        "linked key": bob.api_key,
        "wrong key": "f" * 32,
    }
    for raw in (while_running, database_bytes(tmp_path)):
        assert b"SQLite format 3" in raw
        for name, secret in secrets_.items():
            assert secret.encode() not in raw, f"{name} in the database files"
    assert "***" in caplog.text  # the planted line was redacted, so the check below can fail
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for name, secret in secrets_.items():
        assert secret not in logged, f"{name} in the logs"


# -- throttling ---------------------------------------------------------------------------


async def test_a_flood_from_one_person_costs_the_panel_little(make_bot: BotFactory) -> None:
    burst, rate = 5, 1.0
    harness = make_bot(throttle_burst=burst, throttle_per_second=rate)
    async with harness.running():
        flooder, neighbour = harness.user(501, "Flood"), harness.user(502, "Neighbour")
        started = time.monotonic()
        updates = [await flooder.send("/balance", wait=False) for _ in range(50)]
        await neighbour.send("/balance")
        for update_id in updates:
            await harness.emulator.wait_handled(update_id)
        elapsed = time.monotonic() - started

        assert neighbour.last_message.text.startswith("💰 Balance:")  # unaffected
        answered = [m for m in flooder.bot_messages if m.text.startswith("💰 Balance:")]
        warned = [m for m in flooder.bot_messages if "Slow down" in m.text]
        # What the bucket allows in the time the flood took; the rest was dropped.
        allowed = burst + rate * elapsed + 1
        assert burst <= len(answered) <= allowed
        assert len(warned) == 1
        assert harness.panel_calls("balance") <= allowed + 1  # the neighbour's one


# -- admins -------------------------------------------------------------------------------


@pytest.fixture
async def with_admin(make_bot: BotFactory) -> AsyncIterator[BotHarness]:
    harness = make_bot(admin_ids=frozenset({42}), panel_alert_after_seconds=0.3)
    async with harness.running():
        yield harness


async def test_admin_commands_are_for_admins_only(with_admin: BotHarness) -> None:
    member = with_admin.user(501, "Member")
    for command in ("/stats", "/refresh_catalog", "/parked"):
        await member.send(command)
        assert member.last_message.text == "This command is not available."
    await place_order(member, amount="100")

    admin = with_admin.user(42, "Admin")
    await admin.send("/stats")
    text = admin.last_message.text
    assert "👥 Users: 2 active, 0 blocked the bot, 0 with their own account" in text
    assert "📦 Orders: placed 1" in text
    assert "📮 Notifications: 0 pending, 0 parked" in text
    assert "🩺 Panel: answering, last answer" in text
    assert "▶️ Tracking: running" in text
    distinct = len({str(service["service"]) for service in builtin_catalog()})
    assert f"📚 Catalog of al***@example.com: {distinct} services, fetched" in text

    with_admin.panel.set_catalog(builtin_catalog()[:20])
    await admin.send("/refresh_catalog")
    assert admin.last_message.text == "✅ Catalog of al***@example.com refreshed: 20 services."
    with_admin.panel.set_faults(html_rate=1.0)
    await admin.send("/refresh_catalog")
    assert "SMMLaba isn't answering: kept the catalog of al***@example.com" in (
        admin.last_message.text
    )


async def test_admins_hear_of_a_long_outage_and_the_recovery(with_admin: BotHarness) -> None:
    admin = with_admin.user(42, "Admin")
    member = with_admin.user(501, "Member")
    await admin.send("/start")
    with_admin.panel.set_faults(html_rate=1.0)
    await member.send("/balance")
    assert "SMMLaba isn't answering" in member.last_message.text

    def alerts(prefix: str) -> list[str]:
        return [m.text for m in admin.bot_messages if m.text.startswith(prefix)]

    await eventually(lambda: len(alerts("⚠️ Admin: SMMLaba has not answered")) == 1)
    assert "Last error: panel unavailable during 'balance'" in alerts("⚠️ Admin")[0]
    assert member.bot_messages[-1].text.startswith("⚠️ SMMLaba")  # members are not told
    with_admin.panel.set_faults()
    await eventually(lambda: len(alerts("✅ Admin: SMMLaba answers again")) == 1)
    await asyncio.sleep(0.5)  # and each is said once
    assert len(alerts("⚠️ Admin")) == 1
    assert len(alerts("✅ Admin")) == 1


async def test_orders_on_a_linked_account_are_tracked_with_its_key(
    make_bot: BotFactory, panel: SandboxPanel, bob: Account
) -> None:
    harness = make_bot(
        operator=None,
        access="open",
        tracker=FAST_TRACKING,
        notifier=FAST_NOTIFIER,
        check_interval_seconds=FAST_TRACKING.base_interval,
    )
    async with harness.running():
        bobby = harness.user(801, "Bob")
        await connect(bobby, BOB, bob.api_key)
        await place_order(bobby, amount="100")
        panel.clock.advance(10_000)
        await eventually(lambda: finished(bobby, "7000000") == 1)
        checks = {r.username for r in panel.requests if r.action == "check"}
        assert checks == {BOB}


async def test_an_outage_a_stopped_replica_left_open_is_closed_once_the_panel_answers(
    make_bot: BotFactory,
) -> None:
    harness = make_bot(admin_ids=frozenset({42}), panel_alert_after_seconds=0.3)
    panel = str(harness.settings.smmlaba_api_url)
    async with await Database.open(harness.settings.sqlite_path) as db:
        # As a replica killed mid-outage leaves it.
        await db.execute("INSERT INTO panel_outages (panel, since) VALUES (?, 1000.0)", (panel,))
    async with harness.running() as bot:  # its start-up fetches the catalog: the panel answers
        assert bot.services is not None
        db = bot.services.db

        async def closed() -> bool:
            row = await db.fetchone("SELECT count(*) AS n FROM panel_outages WHERE until IS NULL")
            return row is not None and row["n"] == 0

        await eventually(closed)
