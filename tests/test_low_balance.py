"""Low-balance warnings, end to end: set in /settings, fed by the balance reads the bot makes
(and one read of a quiet account), told once per fall, to the person or to the admins."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from bot.sandbox.panel import Account
from bot.sandbox.telegram import SimulatedUser
from tests.conftest import BotFactory
from tests.helpers import FAST_NOTIFIER, eventually, russian
from tests.test_accounts import connect

PERSONAL = "Your panel balance is"
ADMINS = "Admin: the panel balance the team orders on is"


def warnings(user: SimulatedUser, words: str = PERSONAL) -> int:
    return sum(1 for m in user.bot_messages if words in m.text)


async def set_warning(user: SimulatedUser, amount: str) -> None:
    await user.send("/settings")
    await user.press("💰 Low-balance warning")
    await user.send(amount)


async def test_a_fall_under_the_amount_is_told_once_until_topped_up(
    make_bot: BotFactory, bob: Account
) -> None:
    bot = make_bot(operator=None, access="open", notifier=FAST_NOTIFIER)
    async with bot.running():
        ben = bot.user(601, "Ben")
        await connect(ben, bob.username, bob.api_key)
        await ben.send("/settings")
        assert "Off: I can tell you when the balance drops below" in ben.last_message.text
        await ben.press("💰 Low-balance warning")
        assert "Send an amount" in ben.last_message.text
        for wrong in ("a lot", "-5", "10.505", "99999999999"):
            await ben.send(wrong)
            assert "That isn't an amount" in ben.last_message.text
        await ben.send("450")
        assert "✅ I'll tell you when the balance drops below RUB\xa0450.00" in (
            ben.last_message.text
        )
        await asyncio.sleep(0.3)
        assert warnings(ben) == 0  # 500 is not under 450

        bob.balance = Decimal("400.50")
        await ben.send("/balance")
        await eventually(lambda: warnings(ben) == 1)
        told = next(m.text for m in ben.bot_messages if PERSONAL in m.text)
        assert "RUB\xa0400.50" in told
        assert "RUB\xa0450.00" in told
        await ben.send("/balance")  # still under: nothing more
        await asyncio.sleep(0.3)
        assert warnings(ben) == 1

        bob.balance = Decimal("600")
        await ben.send("/balance")
        bob.balance = Decimal("300")
        await ben.send("/balance")
        await eventually(lambda: warnings(ben) == 2)  # a new fall, told again

        await set_warning(ben, "0")
        assert "✅ Low-balance warning off." in ben.last_message.text
        bob.balance = Decimal("1000")
        await ben.send("/balance")
        bob.balance = Decimal("1")
        await ben.send("/balance")
        await asyncio.sleep(0.3)
        assert warnings(ben) == 2

        bob.balance = Decimal("1000")
        await set_warning(ben, "450")  # on again: a new fall is a new warning
        bob.balance = Decimal("2")
        await ben.send("/balance")
        await eventually(lambda: warnings(ben) == 3)


async def test_a_quiet_account_is_read_by_the_watch_itself(
    make_bot: BotFactory, bob: Account
) -> None:
    bot = make_bot(
        operator=None, access="open", notifier=FAST_NOTIFIER, low_balance_read_seconds=0.5
    )
    async with bot.running():
        ben = bot.user(601, "Ben")
        await connect(ben, bob.username, bob.api_key)
        await set_warning(ben, "450")
        bob.balance = Decimal("100")  # spent on the website; Ben says nothing
        await eventually(lambda: warnings(ben) == 1)
        await bot.restart()  # told once, across a restart too
        await asyncio.sleep(1.5)
        assert warnings(ben) == 1


async def test_the_team_account_warns_its_admins(make_bot: BotFactory, alice: Account) -> None:
    bot = make_bot(admin_ids=frozenset({42}), notifier=FAST_NOTIFIER)
    async with bot.running():
        admin, member = bot.user(42, "Admin"), bot.user(501, "Member")
        await member.send("/settings")
        assert "💰 Low-balance warning" not in member.last_message.button_labels
        await set_warning(admin, "900")
        assert "the admins are told" in admin.last_message.text

        alice.balance = Decimal("850")
        await member.send("/balance")  # anyone's read of it counts
        await eventually(lambda: warnings(admin, ADMINS) == 1)
        assert warnings(member, ADMINS) == warnings(member) == 0


async def test_low_balance_speaks_russian(make_bot: BotFactory, bob: Account) -> None:
    ru = russian()
    bot = make_bot(operator=None, access="open")
    async with bot.running():
        ivan = bot.user(602, "Иван", language_code="ru")
        await connect(ivan, bob.username, bob.api_key)
        await ivan.send("/settings")
        await ivan.press(ru("💰 Low-balance warning"))
        await ivan.send("nothing")
        assert ru("That isn't an amount. Send a number like 100 or 99.50 (0 turns it off).") in (
            ivan.last_message.text
        )
