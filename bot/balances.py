"""Balances fetched ahead: the confirmation shows the balance, and the panel can take a while
to give it, so it is asked for while the person types the value the confirmation follows.
Asked `fresh_for` seconds ago or less, that answer is shown; an older one, or a failed one,
is asked again.

The last answer is also remembered for `known_for` seconds, for screens that show the balance
only when it is at hand (the main menu's header) and never ask the panel to draw it. An order
placed on the account forgets it: the balance is no longer that.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from bot.smmlaba import Panel, PanelException


@dataclass(frozen=True)
class _Asked:
    panel: Panel
    answer: asyncio.Task[Decimal]
    at: float


@dataclass(frozen=True)
class _Known:
    panel: Panel
    amount: Decimal
    at: float


class BalancesAhead:
    """Everyone's balance requests made ahead, one per person at most."""

    def __init__(
        self,
        *,
        fresh_for: float = 20.0,
        known_for: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fresh_for = fresh_for
        self._known_for = known_for
        self._clock = clock
        self._asked: dict[int, _Asked] = {}
        self._known: dict[int, _Known] = {}

    def of(self, user_id: int, panel: Panel) -> Balance:
        return Balance(self, user_id, panel)

    def ask(self, user_id: int, panel: Panel) -> None:
        now = self._clock()
        earlier = self._asked.get(user_id)
        if earlier is not None:
            if earlier.panel is panel and self._fresh(earlier):
                return
            earlier.answer.cancel()  # of no use now, and nothing else holds it
        self._forget_stale(now)
        answer = asyncio.create_task(panel.balance())
        answer.add_done_callback(lambda task: self._answered(user_id, panel, task))
        self._asked[user_id] = _Asked(panel, answer, now)

    def _answered(self, user_id: int, panel: Panel, task: asyncio.Task[Decimal]) -> None:
        # Whoever takes it sees a failure; one nobody takes must not be reported as lost.
        if not task.cancelled() and task.exception() is None:
            self.remember(user_id, panel, task.result())

    async def take(self, user_id: int, panel: Panel) -> Decimal:
        asked = self._asked.pop(user_id, None)
        if asked is not None:
            if asked.panel is panel and self._fresh(asked):
                with contextlib.suppress(PanelException):  # asked again below
                    return await asyncio.shield(asked.answer)
            asked.answer.cancel()
        return await self.fetch(user_id, panel)

    async def fetch(self, user_id: int, panel: Panel) -> Decimal:
        """A new request, its answer remembered."""
        amount = await panel.balance()
        self.remember(user_id, panel, amount)
        return amount

    def remember(self, user_id: int, panel: Panel, amount: Decimal) -> None:
        now = self._clock()
        if user_id not in self._known and len(self._known) >= 256:
            for someone, known in list(self._known.items()):
                if now - known.at > self._known_for:
                    del self._known[someone]
        self._known[user_id] = _Known(panel, amount, now)

    def known(self, user_id: int, panel: Panel) -> Decimal | None:
        """The last answer on `panel` from the past `known_for` seconds, if any: no request."""
        known = self._known.get(user_id)
        if known is None or known.panel is not panel:
            return None
        if self._clock() - known.at > self._known_for:
            return None
        return known.amount

    def forget(self, user_id: int) -> None:
        """The balance changed (an order was placed): neither answer is it any more."""
        self._known.pop(user_id, None)
        asked = self._asked.pop(user_id, None)
        if asked is not None:
            asked.answer.cancel()

    def _fresh(self, asked: _Asked) -> bool:
        return self._clock() - asked.at <= self._fresh_for

    def _forget_stale(self, now: float) -> None:
        """People who left a wizard before its confirmation: drop theirs now and then."""
        if len(self._asked) < 256:
            return
        for user_id, asked in list(self._asked.items()):
            if now - asked.at > self._fresh_for:
                del self._asked[user_id]
                asked.answer.cancel()


@dataclass(frozen=True)
class Balance:
    """One person's balance on their panel account, as the order wizard uses it."""

    ahead: BalancesAhead
    user_id: int
    panel: Panel

    def ask(self) -> None:
        """Start fetching it now, unless a fresh request is already out."""
        self.ahead.ask(self.user_id, self.panel)

    async def get(self) -> Decimal:
        """The one asked ahead when it is fresh, else a new request. Raises
        `PanelException` as `Panel.balance` does."""
        return await self.ahead.take(self.user_id, self.panel)

    async def fetch(self) -> Decimal:
        """A new request (for /balance, which must be current); remembered like the rest."""
        return await self.ahead.fetch(self.user_id, self.panel)

    def known(self) -> Decimal | None:
        """The last answer, if recent: for screens that never ask the panel to draw."""
        return self.ahead.known(self.user_id, self.panel)

    def forget(self) -> None:
        """An order was placed on the account: the balance known is no longer it."""
        self.ahead.forget(self.user_id)


class BalancesSeen:
    """The last balance read of each panel account, whoever read it, and when, until taken:
    what the low-balance watch (`bot.balance_watch`) looks at."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._seen: dict[str, tuple[Decimal, float]] = {}
        self._clock = clock
        self.arrived = asyncio.Event()

    def seen(self, account: str, amount: Decimal) -> None:
        self._seen[account] = (amount, self._clock())
        self.arrived.set()

    def take(self) -> dict[str, tuple[Decimal, float]]:
        taken, self._seen = self._seen, {}
        self.arrived.clear()
        return taken

    def put_back(self, account: str, amount: Decimal, at: float) -> None:
        """A reading that could not be looked at: again next time, unless a newer came."""
        if account not in self._seen:
            self._seen[account] = (amount, at)
            self.arrived.set()
