"""The environment contract: defaults, parsing, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import ConfigError, load_settings
from tests.processes import VARIABLES, run_bot


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No stray variable or `.env` from the developer's machine leaks into a test."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_design() -> None:
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.smmlaba_api_url == "https://smmlaba.com/vkapi/v1/"
    assert settings.operator_account is None
    assert settings.allowed_users == frozenset()
    assert settings.admin_ids == frozenset()
    assert settings.database_path == Path("data/smmbot.sqlite3")
    assert settings.check_interval_seconds == 60
    assert settings.panel_currency == "RUB"
    assert settings.webhook_url is None
    assert settings.log_level == "INFO"


def test_values_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("SMMLABA_USERNAME", "op@example.com")
    monkeypatch.setenv("SMMLABA_APIKEY", "secret-key")
    monkeypatch.setenv("ALLOWED_USERS", " 1, 22 ,333,")
    monkeypatch.setenv("ADMIN_IDS", "22")
    monkeypatch.setenv("CHECK_INTERVAL_SECONDS", "15")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", "abc-123")
    settings = load_settings()
    assert settings.allowed_users == frozenset({1, 22, 333})
    assert settings.admin_ids == frozenset({22})
    assert settings.check_interval_seconds == 15
    assert settings.log_level == "DEBUG"
    assert settings.operator_account is not None
    username, key = settings.operator_account
    assert username == "op@example.com"
    assert key.get_secret_value() == "secret-key"
    assert settings.webhook_url == "https://bot.example.com/hook"


def test_secrets_do_not_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:token-value")
    monkeypatch.setenv("SMMLABA_USERNAME", "op@example.com")
    monkeypatch.setenv("SMMLABA_APIKEY", "key-value")
    fernet_key = Fernet.generate_key().decode()
    monkeypatch.setenv("BOT_SECRET_KEY", fernet_key)
    monkeypatch.setenv("WEBHOOK_SECRET", "hook-value")
    text = repr(load_settings()) + str(load_settings())
    for secret in ("token-value", "key-value", fernet_key, "hook-value"):
        assert secret not in text


def test_a_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PANEL_CURRENCY=USD\nALLOWED_USERS=5,6\n", encoding="utf-8")
    settings = load_settings()
    assert settings.panel_currency == "USD"
    assert settings.allowed_users == frozenset({5, 6})


def test_the_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PANEL_CURRENCY=USD\n", encoding="utf-8")
    monkeypatch.setenv("PANEL_CURRENCY", "EUR")
    assert load_settings().panel_currency == "EUR"


def test_a_secret_value_is_not_echoed_in_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "not a url with secret-part")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "secret-part" not in str(error.value)


BAD_VALUES = [
    ("ALLOWED_USERS", "abc", "user ids"),
    ("ADMIN_IDS", "12,-3", "user ids"),
    ("CHECK_INTERVAL_SECONDS", "-5", "greater than 0"),
    ("CHECK_INTERVAL_SECONDS", "soon", "valid number"),
    ("TELEGRAM_API_URL", "api.telegram.org", "http"),
    ("SMMLABA_API_URL", "ftp://smmlaba.com/vkapi/v1/", "http"),
    ("WEBHOOK_URL", "bot.example.com/hook", "http"),
    ("LOG_LEVEL", "loud", "DEBUG"),
    ("DATABASE_PATH", " ", "file path"),
    ("SMMLABA_TIMEOUT_SECONDS", "0", "greater than 0"),
    ("SMMLABA_USERNAME", "op@example.com", "SMMLABA_APIKEY"),
    ("SMMLABA_STATUS_MAP", "17=sideways", "17=sideways is not"),
    ("SMMLABA_STATUS_MAP", "17", "code=state pairs"),
    ("NOTIFY_PER_SECOND", "100", "less than or equal to 30"),
    ("TRACK_CONCURRENCY", "0", "greater than or equal to 1"),
    ("WEBHOOK_URL", "https://bot.example.com/hook", "WEBHOOK_SECRET"),
    ("WEBHOOK_PORT", "70000", "less than or equal to 65535"),
    ("ACCESS", "everyone", "'allowlist' or 'open'"),
    ("BOT_SECRET_KEY", "hunter2", "not a Fernet key"),
    ("THROTTLE_BURST", "0", "greater than or equal to 1"),
    ("PANEL_ALERT_AFTER_SECONDS", "-1", "greater than 0"),
    ("WEBAPP_URL", "http://bot.example.com/app/", "only over https://"),
    ("WEBAPP_URL", "https://bot.example.com/app", "ends in /"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("variable", "value", "reason"), BAD_VALUES)
async def test_a_bad_value_stops_start_up_with_one_line(
    tmp_path: Path, variable: str, value: str, reason: str
) -> None:
    result = await run_bot("check", "--offline", env={variable: value}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # A missing partner variable is named instead of the one that was set.
    named = reason if reason in ("SMMLABA_APIKEY", "WEBHOOK_SECRET") else variable
    assert f"configuration error: {named}:" in lines[0]
    assert reason in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
async def test_a_bad_value_in_dotenv_stops_start_up(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ALLOWED_USERS=abc\n", encoding="utf-8")
    result = await run_bot("check", "--offline", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("smmbot: configuration error: ALLOWED_USERS:")


@pytest.mark.slow
async def test_run_without_a_token_names_it(tmp_path: Path) -> None:
    result = await run_bot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "BOT_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
async def test_a_good_configuration_passes_the_offline_check(tmp_path: Path) -> None:
    result = await run_bot(
        "check",
        "--offline",
        env={
            "BOT_TOKEN": "123456:abc",
            "ALLOWED_USERS": "1,2",
            "SMMLABA_USERNAME": "a@b.c",
            "SMMLABA_APIKEY": "k",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "configuration ok: operator mode" in result.stdout


def test_the_shipped_example_file_is_a_valid_configuration(tmp_path: Path) -> None:
    example = Path(__file__).parent.parent / ".env.example"
    (tmp_path / ".env").write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    settings = load_settings()
    assert settings.operator_account is None
    assert settings.allowed_users == frozenset()


def test_the_database_url_names_sqlite_or_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/bot.sqlite3")
    settings = load_settings()
    assert (settings.postgres_url, settings.sqlite_path) == (None, Path("var/bot.sqlite3"))
    assert settings.alone
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("BOT_SECRET_KEY", key)
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:s3cret@db:5432/smmbot")
    settings = load_settings()
    assert settings.postgres_url == "postgresql://bot:s3cret@db:5432/smmbot"
    assert settings.database_shown == "postgresql://bot@db:5432/smmbot"
    assert settings.alone  # without Redis
    monkeypatch.setenv("REDIS_URL", "redis://:r3dis@cache:6379/0")
    settings = load_settings()
    assert not settings.alone
    assert {"s3cret", "r3dis"} <= set(settings.secrets())


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"DATABASE_URL": "mysql://db/smmbot"}, "DATABASE_URL: must start with sqlite:///"),
        ({"DATABASE_URL": "sqlite:///"}, "DATABASE_URL: sqlite:/// needs a file path"),
        ({"REDIS_URL": "http://cache"}, "REDIS_URL: must start with redis://"),
        (
            {"DATABASE_URL": "postgresql://db/smmbot"},
            "BOT_SECRET_KEY: required with a PostgreSQL DATABASE_URL",
        ),
    ],
)
def test_a_bad_database_or_redis_setting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], problem: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert str(refused.value).startswith(problem)
    assert "\n" not in str(refused.value)


async def test_the_offline_check_names_postgresql_without_its_password(tmp_path: Path) -> None:
    env = {
        "BOT_TOKEN": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11",
        "DATABASE_URL": "postgresql://bot:s3cret@db.internal/smmbot",
        "BOT_SECRET_KEY": Fernet.generate_key().decode(),
    }
    finished = await run_bot("check", "--offline", cwd=tmp_path, env=env)
    assert finished.returncode == 0, finished.stderr
    assert "database postgresql://bot@db.internal/smmbot (PostgreSQL" in finished.stdout
    assert "s3cret" not in finished.stdout + finished.stderr
