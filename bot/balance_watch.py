"""Low-balance warnings: the balance reads the bot makes anyway (the confirmation, /balance,
/account) are compared with each account's warning (`storage.balance_alerts`), and an account
nobody has read for `read_every` seconds is read once. Its people are told once when it falls
under the amount: the person who linked it, or the admins for the operator's account.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from decimal import Decimal

from bot.accounts import Accounts
from bot.background import BackgroundLoop
from bot.balances import Balance
from bot.smmlaba import PanelException
from storage import balance_alerts, users
from storage.balance_alerts import Recipient
from storage.db import Database

logger = logging.getLogger(__name__)


class BalanceWatch(BackgroundLoop):
    name = "balance-watch"

    def __init__(
        self,
        accounts: Accounts,
        db: Database,
        admins: frozenset[int],
        *,
        read_every: float = 86_400.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self._accounts = accounts
        self._db = db
        self._admins = admins
        self._read_every = read_every
        self._look_every = min(600.0, read_every / 24)  # for accounts nobody reads
        self._clock = clock
        self._looked_at = 0.0

    async def run_once(self) -> None:
        seen = self._accounts.balances_seen
        waits = [asyncio.ensure_future(e.wait()) for e in (seen.arrived, self._stopping)]
        wait = max(0.0, self._looked_at + self._look_every - self._clock())
        await asyncio.wait(waits, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        for waiting in waits:
            waiting.cancel()
        readings = list(seen.take().items())
        for at_index, (account, (amount, at)) in enumerate(readings):
            try:
                await self.observe(account, amount, at)
            except Exception:
                for left, (left_amount, left_at) in readings[at_index:]:  # next round
                    seen.put_back(left, left_amount, left_at)
                raise
        if self._clock() >= self._looked_at + self._look_every and not self.stopping:
            self._looked_at = self._clock()
            await self._read_quiet_accounts()

    async def observe(self, account: str, amount: Decimal, at: float) -> None:
        """One balance read: compared with the account's warning, if it has one."""
        operator = self._accounts.operator
        admins = operator is not None and operator.name == account

        async def recipients() -> list[Recipient]:
            return await self._recipients(account, admins)

        if await balance_alerts.observe(self._db, account, amount, at, recipients):
            logger.info("balance of a watched account fell under its warning: told")

    async def _recipients(self, account: str, admins: bool) -> list[Recipient]:
        if not admins:
            linked = await users.linked_to(self._db, account)
            return [Recipient(user.id, user.chat_id, admins=False) for user in linked]
        told = []
        for admin_id in sorted(self._admins):
            admin = await users.get(self._db, admin_id)
            if admin is not None and admin.is_active:  # Telegram lets us write only back
                told.append(Recipient(admin.id, admin.chat_id, admins=True))
        return told

    async def _read_quiet_accounts(self) -> None:
        """One read for each watched account nobody read for `read_every` seconds; the
        reads come back through `balances_seen`, like everyone's."""
        for name in await balance_alerts.unread_since(self._db, self._clock() - self._read_every):
            account = self._accounts.named(name)
            if account is None:
                continue  # unlinked since: nothing to read it with
            try:
                await account.tracking_panel.balance()
            except PanelException as exc:
                logger.info("could not read a watched balance: %s", exc)


async def after_order(balance: Balance, db: Database, account: str) -> None:
    """An order may have been charged: the balance known is not it. If the account has a
    low-balance warning, it is read again now, in the background, for the warning to hear."""
    balance.forget()
    if await balance_alerts.get(db, account) is not None:
        balance.ask()
