"""Balances fetched ahead: the confirmation shows the balance, and the panel can take a while
to give it, so it is asked for while the person types the value the confirmation follows.
Asked `fresh_for` seconds ago or less, that answer is shown; an older one, or a failed one,
is asked again.
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


class BalancesAhead:
    """Everyone's balance requests made ahead, one per person at most."""

    def __init__(
        self, *, fresh_for: float = 20.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fresh_for = fresh_for
        self._clock = clock
        self._asked: dict[int, _Asked] = {}

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
        # Whoever takes it sees a failure; one nobody takes must not be reported as lost.
        answer.add_done_callback(lambda task: task.cancelled() or task.exception())
        self._asked[user_id] = _Asked(panel, answer, now)

    async def take(self, user_id: int, panel: Panel) -> Decimal:
        asked = self._asked.pop(user_id, None)
        if asked is not None:
            if asked.panel is panel and self._fresh(asked):
                with contextlib.suppress(PanelException):  # asked again below
                    return await asyncio.shield(asked.answer)
            asked.answer.cancel()
        return await panel.balance()

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
