"""Whose panel account a person orders on, and the keys of linked accounts.

Operator mode: the account from the environment serves the team (ALLOWED_USERS and ADMIN_IDS).
Personal mode: a person links their own account with /connect; it takes precedence over the
operator's. Linked keys are sealed in SQLite and opened once, at start-up or when linked; the
process keeps one client per account, and one catalog per account whose snapshots are shared
(`CatalogMemory`): accounts that see the same catalog hold it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx
from pydantic import SecretStr

from bot.balances import BalancesSeen
from bot.catalog import Catalog, CatalogMemory
from bot.config import ConfigError, Settings
from bot.health import PanelHealth
from bot.ratelimit import TokenBucket
from bot.redaction import Redactor
from bot.secretbox import SecretBox, SecretBoxError
from bot.smmlaba import Panel, RetryPolicy, SmmLabaClient
from storage import users
from storage.db import Database

if TYPE_CHECKING:
    from bot.metrics import Metrics

logger = logging.getLogger(__name__)

KEY_TRIES = 5  # keys one person may have checked with the panel in an hour


@dataclass(frozen=True)
class Account:
    """One panel account as the bot uses it. `name` (the panel username) is what orders
    record as their account."""

    name: str
    panel: SmmLabaClient
    catalog: Catalog
    personal: bool
    # The tracker retries on its own schedule and its breaker counts every request, so its
    # client sends each check once.
    tracking_panel: SmmLabaClient


class Accounts:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        http: httpx.AsyncClient,
        box: SecretBox,
        redactor: Redactor,
        health: PanelHealth,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics  # every client counts its requests there
        self._db = db
        self._http = http
        self._box = box
        self._redactor = redactor
        self.health = health
        self._team = settings.team  # computed once: it is asked on every update
        self._catalogs: dict[str, Catalog] = {}
        self.catalog_memory = CatalogMemory(settings.catalogs_in_memory)
        self._linked: dict[int, Account] = {}
        self._keys: dict[int, str] = {}  # each linked person's key, redacted while held
        self._key_tries: dict[int, TokenBucket] = {}
        self._operator_key: str | None = None
        self.balances_seen = BalancesSeen()  # every client's balance reads
        self.operator: Account | None = None
        if settings.operator_account is not None:
            username, api_key = settings.operator_account
            self._operator_key = api_key.get_secret_value()
            self.operator = self._account(username, api_key, personal=False)

    def __repr__(self) -> str:
        return f"Accounts(operator={self.operator is not None}, linked={len(self._linked)})"

    def load(self, sealed: list[tuple[int, str, bytes]]) -> None:
        """Open every stored key (`users.linked_accounts`). One that does not open means the
        wrong BOT_SECRET_KEY (or key file): refuse to start rather than act as if those people
        never linked."""
        failed = 0
        for user_id, username, key in sealed:
            try:
                api_key = self._box.open(user_id, key)
            except SecretBoxError:
                failed += 1
                continue
            self._linked[user_id] = self._account(username, SecretStr(api_key), personal=True)
            self._keys[user_id] = api_key
        if failed:
            raise ConfigError(
                f"BOT_SECRET_KEY: {failed} of {len(sealed)} stored API keys do not open with this "
                f"key; set the key they were saved with (database {self._settings.database_shown})"
            )

    def for_user(self, user_id: int) -> Account | None:
        """The account this person orders on now, or None if they have to /connect first."""
        linked = self._linked.get(user_id)
        if linked is not None:
            return linked
        if self.operator is not None and user_id in self._team:
            return self.operator
        return None

    def linked(self, user_id: int) -> Account | None:
        return self._linked.get(user_id)

    def candidate(self, username: str, api_key: str) -> SmmLabaClient:
        """A client for a pair someone typed, to verify it before anything is stored. The key
        is redacted from now on; `forget` it when it is not linked."""
        self._redactor.add(api_key)
        return self._client(username, SecretStr(api_key))

    def key_try_wait(self, user_id: int) -> float:
        """Take one of this person's tries at a key, or say how many seconds until the next:
        `KEY_TRIES` an hour, so the bot is no free key-guessing proxy against the panel."""
        tries = self._key_tries.get(user_id)
        if tries is None:
            tries = self._key_tries[user_id] = TokenBucket(KEY_TRIES / 3600, KEY_TRIES)
        return 0.0 if tries.try_acquire() else tries.wait_time()

    def forget(self, api_key: str) -> None:
        """A typed key the bot does not keep (refused, or never verified): no longer a secret
        of this process, so no longer redacted (a word typed as a key must not vanish from
        the logs)."""
        if api_key != self._operator_key and api_key not in self._keys.values():
            self._redactor.discard(api_key)

    async def link(self, user_id: int, username: str, api_key: str) -> Account:
        await users.set_panel_account(self._db, user_id, username, self._box.seal(user_id, api_key))
        account = self._account(username, SecretStr(api_key), personal=True)
        account.catalog.use(account.panel)
        self._linked[user_id] = account
        replaced = self._keys.get(user_id)
        self._keys[user_id] = api_key
        if replaced is not None and replaced != api_key:
            self.forget(replaced)
        return account

    async def unlink(self, user_id: int) -> None:
        await users.set_panel_account(self._db, user_id, None, None)
        self._linked.pop(user_id, None)
        unlinked = self._keys.pop(user_id, None)
        if unlinked is not None:
            self.forget(unlinked)

    def account_of(self, user_id: int, name: str) -> Account | None:
        """The account an order of this person was placed on, if the bot still holds its key:
        an order on an account the person has since unlinked can no longer be checked."""
        linked = self._linked.get(user_id)
        if linked is not None and linked.name == name:
            return linked
        if self.operator is not None and self.operator.name == name:
            return self.operator
        return None

    def named(self, name: str) -> Account | None:
        """The account called `name`: the operator's, or one someone linked."""
        if self.operator is not None and self.operator.name == name:
            return self.operator
        return next((a for a in self._linked.values() if a.name == name), None)

    def tracking_panel(self, user_id: int, name: str) -> Panel | None:
        account = self.account_of(user_id, name)
        return None if account is None else account.tracking_panel

    def catalogs(self) -> dict[str, Catalog]:
        return dict(self._catalogs)

    async def close(self) -> None:
        for catalog in self._catalogs.values():
            await catalog.close()

    def _account(self, username: str, api_key: SecretStr, *, personal: bool) -> Account:
        self._redactor.add(api_key.get_secret_value())
        panel = self._client(username, api_key)
        catalog = self._catalogs.get(username)
        if catalog is None:
            cache_key = f"{username} {self._settings.smmlaba_api_url}"
            catalog = self._catalogs[username] = Catalog(
                panel, self._db, cache_key, self.catalog_memory
            )
        return Account(
            name=username,
            panel=panel,
            catalog=catalog,
            personal=personal,
            tracking_panel=self._client(
                username, api_key, RetryPolicy(attempts=1), background=True
            ),
        )

    def _client(
        self,
        username: str,
        api_key: SecretStr,
        retry: RetryPolicy | None = None,
        *,
        background: bool = False,
    ) -> SmmLabaClient:
        return SmmLabaClient(
            username,
            api_key,
            url=self._settings.smmlaba_api_url,
            timeout=self._settings.smmlaba_timeout_seconds,
            retry=retry,
            http=self._http,
            health=self.health,
            background=background,
            metrics=self._metrics,
            on_balance=self.balances_seen.seen,
        )
