"""Settings: the environment contract in the README, read from the environment and `.env`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit

from cryptography.fernet import Fernet
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PositiveFloat,
    SecretStr,
    ValidationError,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from storage.db import is_postgres_url, sqlite_path, without_password
from storage.orders import PANEL_STATES, OrderState

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line that names the variable."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _user_ids(value: Any) -> frozenset[int]:
    """`ALLOWED_USERS=1,2, 3` -> {1, 2, 3}; an empty value is an empty set."""
    if isinstance(value, (set, frozenset, list, tuple)):
        items = [str(item) for item in value]
    elif isinstance(value, int):
        items = [str(value)]
    elif isinstance(value, str):
        items = [item for item in value.replace(";", ",").split(",") if item.strip()]
    else:
        raise ValueError("must be comma-separated Telegram user ids")
    ids: set[int] = set()
    for item in items:
        text = item.strip()
        if not text.isdigit() or int(text) <= 0:
            raise ValueError(f"must be comma-separated Telegram user ids, {text!r} is not one")
        ids.add(int(text))
    return frozenset(ids)


def _status_map(value: Any) -> dict[str, OrderState]:
    """`SMMLABA_STATUS_MAP=17=in_progress,20=completed`: codes the panel uses, as states."""
    if isinstance(value, dict):
        pairs = [(str(k), str(v)) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = []
        for item in value.replace(";", ",").split(","):
            if not item.strip():
                continue
            code, sep, state = item.partition("=")
            if not sep:
                raise ValueError(f"expected code=state pairs, got {item.strip()!r}")
            pairs.append((code.strip(), state.strip().lower()))
    else:
        raise ValueError("expected code=state pairs")
    for code, state in pairs:
        if not code or state not in PANEL_STATES:
            raise ValueError(
                f"{code}={state} is not a status code and one of {', '.join(PANEL_STATES)}"
            )
    return {code: OrderState(state) for code, state in pairs}


def _file_path(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise ValueError("must be a file path, not empty")
    return value


def _database_url(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        url = value.get_secret_value()
        if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        if url.startswith("sqlite:///") and not url.removeprefix("sqlite:///").strip():
            raise ValueError("sqlite:/// needs a file path after it")
    return value


def _redis_url(value: SecretStr | None) -> SecretStr | None:
    if value is not None and not value.get_secret_value().startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


FERNET_KEY_HINT = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


def fernet_keys(text: str) -> list[bytes]:
    """`BOT_SECRET_KEY=new,old`: Fernet keys, the first one encrypts. Raises ValueError."""
    keys = [item.strip().encode() for item in text.split(",") if item.strip()]
    if not keys:
        raise ValueError(f"empty; generate a key with {FERNET_KEY_HINT}")
    for key in keys:
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                "not a Fernet key (32 url-safe base64-encoded bytes); generate one with "
                f"{FERNET_KEY_HINT}"
            ) from None
    return keys


def _secret_key(value: SecretStr | None) -> SecretStr | None:
    if value is not None:
        fernet_keys(value.get_secret_value())
    return value


def _bot_token(value: SecretStr | None) -> SecretStr | None:
    """What aiogram accepts (so `check` fails where `run` would): the bot's numeric id, a
    colon, the rest; no spaces."""
    if value is not None:
        token = value.get_secret_value()
        bot_id, colon, rest = token.partition(":")
        if not colon or not bot_id.isdigit() or not rest or any(c.isspace() for c in token):
            raise ValueError("not a bot token (digits, a colon, then the rest, from @BotFather)")
    return value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
UserIds = Annotated[frozenset[int], NoDecode, BeforeValidator(_user_ids)]
OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_blank_to_none)]
OptionalUrl = Annotated[HttpUrl | None, BeforeValidator(_blank_to_none)]


def _web_app_url(value: HttpUrl | None) -> HttpUrl | None:
    """Telegram opens Mini Apps over HTTPS only; the page finds its API beside itself, so
    its address is a folder (ends in "/")."""
    if value is None:
        return None
    parts = urlsplit(str(value))
    if parts.scheme != "https":
        raise ValueError("Telegram opens a Mini App only over https://")
    if not (parts.path or "/").endswith("/"):
        raise ValueError("the page's address ends in / (e.g. https://bot.example.com/app/)")
    return value


class Settings(BaseSettings):
    """Every field is the lower-case name of its environment variable."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    bot_token: Annotated[OptionalSecret, AfterValidator(_bot_token)] = None
    telegram_api_url: HttpUrl = "https://api.telegram.org"
    smmlaba_api_url: HttpUrl = "https://smmlaba.com/vkapi/v1/"
    smmlaba_username: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    smmlaba_apikey: OptionalSecret = None
    smmlaba_timeout_seconds: PositiveFloat = 20.0
    allowed_users: UserIds = frozenset()
    admin_ids: UserIds = frozenset()
    # allowlist: only ALLOWED_USERS and ADMIN_IDS get in. open: anyone may link their own
    # panel account with /connect (the operator's account still serves the team only).
    access: Annotated[Literal["allowlist", "open"], BeforeValidator(_lower)] = "allowlist"
    panel_alert_after_seconds: PositiveFloat = 300.0
    # A watched balance (low-balance warning) nobody read for this long is read once.
    low_balance_read_seconds: PositiveFloat = 86_400.0
    # Per person: a burst of updates at once, then this many a second; the excess is dropped.
    throttle_burst: Annotated[int, Field(ge=1, le=1000)] = 10
    throttle_per_second: PositiveFloat = 2.0
    database_path: Annotated[Path, BeforeValidator(_file_path)] = Path("data/smmbot.sqlite3")
    # sqlite:///path (DATABASE_PATH's file, the default) or postgresql://... for replicas.
    database_url: Annotated[OptionalSecret, AfterValidator(_database_url)] = None
    # Conversations and their locks in Redis: needed for more than one replica.
    redis_url: Annotated[OptionalSecret, AfterValidator(_redis_url)] = None
    bot_secret_key: Annotated[OptionalSecret, AfterValidator(_secret_key)] = None
    check_interval_seconds: PositiveFloat = 60.0
    # As many as the panel's connections that background work may hold (bot/smmlaba/pool.py).
    track_concurrency: Annotated[int, Field(ge=1, le=256)] = 12
    track_rate_per_second: PositiveFloat = 10.0
    # Distinct catalogs kept in memory; accounts that see the same one share it.
    catalogs_in_memory: Annotated[int, Field(ge=1, le=1000)] = 8
    smmlaba_status_map: Annotated[
        dict[str, OrderState], NoDecode, BeforeValidator(_status_map)
    ] = {}
    notify_per_second: Annotated[float, Field(gt=0, le=30)] = 25.0
    notify_per_chat_per_second: Annotated[float, Field(gt=0, le=1)] = 1.0
    panel_currency: Annotated[str, Field(min_length=1, max_length=12)] = "RUB"
    # Where a person whose balance is short tops it up; empty: no such button.
    panel_topup_url: OptionalUrl = "https://smmlaba.com/"
    webhook_url: OptionalUrl = None
    webhook_secret: OptionalSecret = None
    webhook_host: Annotated[str, Field(min_length=1)] = "0.0.0.0"  # noqa: S104 - a container listens on all
    webhook_port: Annotated[int, Field(ge=1, le=65535)] = 8080
    # The Mini App's public HTTPS address, its page at /app/ of the bot's server (the
    # webhook's; in polling mode a small one on WEBAPP_HOST:WEBAPP_PORT). Unset: no Mini App.
    webapp_url: Annotated[OptionalUrl, AfterValidator(_web_app_url)] = None
    webapp_host: Annotated[str, Field(min_length=1)] = "0.0.0.0"  # noqa: S104 - as the webhook's
    webapp_port: Annotated[int, Field(ge=1, le=65535)] = 8081
    # initData older than this is refused (Telegram signs it when the page is opened).
    webapp_max_age_seconds: PositiveFloat = 3600.0
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = "INFO"
    # text: one readable line per record; json: one JSON object per line, for log shippers.
    log_format: Annotated[Literal["text", "json"], BeforeValidator(_lower)] = "text"
    # /healthz, /readyz and /metrics: on the webhook server in webhook mode; in polling mode
    # on this port, and nowhere when it is unset.
    health_port: Annotated[
        Annotated[int, Field(ge=1, le=65535)] | None, BeforeValidator(_blank_to_none)
    ] = None
    # Retention: what the daily pruning deletes once it is this old. Orders are kept.
    keep_sent_notifications_days: PositiveFloat = 30.0
    keep_order_events_days: PositiveFloat = 180.0
    keep_conversations_days: PositiveFloat = 90.0

    @property
    def operator_account(self) -> tuple[str, SecretStr] | None:
        """(e-mail, API key) in operator mode; None in personal mode, where users link theirs."""
        if self.smmlaba_username is None or self.smmlaba_apikey is None:
            return None
        return self.smmlaba_username, self.smmlaba_apikey

    @property
    def postgres_url(self) -> str | None:
        """DATABASE_URL when it names PostgreSQL; None: SQLite."""
        url = None if self.database_url is None else self.database_url.get_secret_value()
        return url if url is not None and is_postgres_url(url) else None

    @property
    def alone(self) -> bool:
        """Whether this process is the only replica: on SQLite (its file lock), or on
        PostgreSQL without Redis (`storage.lock.replicas_lock`)."""
        return self.postgres_url is None or self.redis_url is None

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file: DATABASE_URL's, else DATABASE_PATH. Also where the key file and
        the one-bot lock go beside it, so only meaningful without PostgreSQL."""
        if self.database_url is None or self.postgres_url is not None:
            return self.database_path
        return sqlite_path(self.database_url.get_secret_value())

    @property
    def database_shown(self) -> str:
        """Where the data is, fit to print: a PostgreSQL URL without its password."""
        if self.postgres_url is None:
            return str(self.sqlite_path)
        return without_password(self.postgres_url)

    @property
    def team(self) -> frozenset[int]:
        """The people the operator's account serves: ALLOWED_USERS and ADMIN_IDS."""
        return self.allowed_users | self.admin_ids

    def secrets(self) -> list[str]:
        """Every secret the settings hold, for a `Redactor`: the bot token, the operator's
        API key, the webhook secret, each of the Fernet keys."""
        held = [self.bot_token, self.smmlaba_apikey, self.webhook_secret]
        values = [secret.get_secret_value() for secret in held if secret is not None]
        for url in (self.database_url, self.redis_url):
            if url is None:
                continue
            parts = urlsplit(url.get_secret_value())
            values += [password for password in [parts.password] if password]
            values += [v for k, v in parse_qsl(parts.query) if k == "password" and v]
        if self.bot_secret_key is not None:
            keys = self.bot_secret_key.get_secret_value().split(",")
            values += [key.strip() for key in keys if key.strip()]
        return values

    def require_bot_token(self) -> SecretStr:
        if self.bot_token is None:
            raise ConfigError("BOT_TOKEN: required to run the bot (get one from @BotFather)")
        return self.bot_token

    def require_webhook(self) -> tuple[str, SecretStr]:
        """(WEBHOOK_URL, WEBHOOK_SECRET), for webhook mode."""
        if self.webhook_url is None or self.webhook_secret is None:
            raise ConfigError("WEBHOOK_URL and WEBHOOK_SECRET: both required for webhook mode")
        return self.webhook_url, self.webhook_secret

    def configure_logging(self) -> None:
        """LOG_FORMAT lines at LOG_LEVEL on stderr (`bot.logs.configure_logging`)."""
        # Imported here: bot.logs brings aiogram, which reading the settings does not need.
        from bot.logs import configure_logging

        configure_logging(self)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning any problem into a one-line `ConfigError`."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from None
    if settings.webhook_url is not None and settings.webhook_secret is None:
        raise ConfigError("WEBHOOK_SECRET: required with WEBHOOK_URL (1-256 of A-Z a-z 0-9 _ -)")
    if settings.webhook_secret is not None and not re.fullmatch(
        r"[A-Za-z0-9_-]{1,256}", settings.webhook_secret.get_secret_value()
    ):
        raise ConfigError("WEBHOOK_SECRET: 1-256 characters of A-Z a-z 0-9 _ -")
    if settings.postgres_url is not None and settings.bot_secret_key is None:
        raise ConfigError(
            "BOT_SECRET_KEY: required with a PostgreSQL DATABASE_URL (every replica must open "
            "the API keys the others sealed; there is no key file beside a server)"
        )
    if (settings.smmlaba_username is None) != (settings.smmlaba_apikey is None):
        missing = "SMMLABA_APIKEY" if settings.smmlaba_apikey is None else "SMMLABA_USERNAME"
        raise ConfigError(f"{missing}: required when the other operator credential is set")
    return settings


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    variable = str(first["loc"][0]).upper() if first["loc"] else "configuration"
    message = first["msg"].removeprefix("Value error, ")
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{variable}: {message}{suffix}"
