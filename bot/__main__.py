"""`smmbot`: run the bot, try it offline, check its configuration, back up its database, or
serve the sandbox panel.

Exit codes: 0 fine; 1 a check or the backup failed; 2 the configuration or the command line is
wrong (a backup's target exists, say); 3 the database cannot be used: another smmbot runs on
it, a newer version wrote it, or it is not an SQLite database. Each with one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import traceback
from collections.abc import Sequence
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.config import ConfigError, Settings, load_settings
from bot.output import redacting_output
from bot.redaction import Redactor
from storage.db import DatabaseTooNew, NotADatabase, require_known
from storage.lock import DatabaseInUse
from storage.sqlite import stored_schema_version

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_DATABASE = 0, 1, 2, 3


def main(argv: Sequence[str] | None = None) -> int:
    # Before anything else: whatever the process writes passes redaction (uncaught tracebacks
    # included, caught below so they are printed while the redacting streams are in place).
    redactor = Redactor()
    with redacting_output(redactor):
        try:
            return _main(argv, redactor)
        except Exception:
            traceback.print_exc()
            return EXIT_FAILED


def _main(argv: Sequence[str] | None, redactor: Redactor) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "sandbox-panel":
            return asyncio.run(_sandbox_panel(args))
        if args.command == "demo":
            from bot.sandbox.console import demo

            return demo(args.db, args.time_scale)
        settings = load_settings()
        for secret in settings.secrets():
            redactor.add(secret)
        if args.command == "backup":
            return asyncio.run(_backup(settings, args.path))
        if args.command in ("check", "run"):
            # check fails exactly when run would: the token, then the database.
            settings.require_bot_token()
            schema = None if settings.postgres_url else _known_schema(settings.sqlite_path)
            if args.command == "check":
                return asyncio.run(_check(settings, schema, offline=args.offline))
            return _run(settings)
    except ConfigError as exc:
        print(f"smmbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except DatabaseTooNew as exc:
        print(
            f"smmbot: database error: {exc}: it was written by a newer smmbot; run that "
            "version, or restore a backup made with this one",
            file=sys.stderr,
        )
        return EXIT_DATABASE
    except (DatabaseInUse, NotADatabase) as exc:
        print(f"smmbot: database error: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    except KeyboardInterrupt:
        return EXIT_OK
    parser.print_help()
    return EXIT_CONFIG


def _known_schema(path: Path) -> int | None:
    """The schema version of the database at `path` (None: not created yet), read without
    touching it. Raises `DatabaseTooNew` or `NotADatabase`, as opening it to run would."""
    try:
        version = stored_schema_version(path)
    except OSError as exc:
        raise NotADatabase(f"{path}: {exc.strerror or exc}") from None
    if version is not None:
        require_known(path, version)
    return version


def _version() -> str:
    try:
        return version("smmbot")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smmbot", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"smmbot {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (polling) with the configuration from the env")

    demo = commands.add_parser(
        "demo", help="the whole bot offline in a terminal chat (no token, no panel account)"
    )
    demo.add_argument("--db", type=Path, help="keep the demo's database here (default: temporary)")
    demo.add_argument(
        "--time-scale",
        type=float,
        default=20.0,
        help="panel seconds per second (orders finish faster)",
    )

    check = commands.add_parser(
        "check", help="validate the configuration, then reach Telegram (getMe) and the panel"
    )
    check.add_argument("--offline", action="store_true", help="validate only; call nothing")

    backup = commands.add_parser(
        "backup",
        help="copy the database, consistently, even while the bot runs; never overwrites",
    )
    backup.add_argument(
        "path", type=Path, help="the copy's file name, or a directory to put a dated copy in"
    )

    sandbox = commands.add_parser("sandbox-panel", help="serve an SMMLaba emulator")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8081)
    sandbox.add_argument("--seed", type=int, default=0, help="makes order outcomes repeatable")
    sandbox.add_argument("--time-scale", type=float, default=1.0, help="panel seconds per second")
    sandbox.add_argument("--catalog", type=Path, help="JSON file with the services to offer")
    sandbox.add_argument("--synthetic", type=int, metavar="N", help="offer N generated services")
    sandbox.add_argument("--username", default="demo@example.com")
    sandbox.add_argument("--apikey", help="the demo account's key (random by default)")
    sandbox.add_argument("--balance", type=Decimal, default=Decimal("5000"))
    for knob in (
        "latency",
        "error-rate",
        "html-rate",
        "hang-rate",
        "bad-json-rate",
        "lost-answer-rate",
    ):
        sandbox.add_argument(f"--{knob}", type=float, default=0.0)
    return parser


def _run(settings: Settings) -> int:
    from aiogram.exceptions import ClientDecodeError, TelegramAPIError

    from bot.app import event_loop_factory, run_bot

    settings.require_bot_token()
    settings.configure_logging()
    try:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(run_bot(settings))
    except (ClientDecodeError, TelegramAPIError) as exc:
        print(f"smmbot: {telegram_problem(exc, settings.telegram_api_url)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def telegram_problem(exc: Exception, api_url: str) -> str:
    """One plain line for a failed Bot API call: where it went (the server, never the token,
    which only the request's path holds) and what came back."""
    from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramNetworkError
    from pydantic import ValidationError

    parts = urlsplit(api_url)
    host = parts.netloc.rpartition("@")[2]  # never a user:password
    where = urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))
    if isinstance(exc, ClientDecodeError):
        validation = isinstance(exc.original, ValidationError)
        what = "JSON, but not a Bot API answer" if validation else "not JSON"
        body = " ".join(str(exc.data).split())
        if len(body) > 80:
            body = body[:79] + "…"
        text = f"Telegram's endpoint at {where} answered something that is not the Bot API: {what}"
        text += f" ({body!r})" if body else " (an empty body)"
    elif isinstance(exc, TelegramNetworkError):
        text = f"could not reach Telegram's endpoint at {where}: {exc.message}"
    elif isinstance(exc, TelegramAPIError):
        text = f"Telegram's endpoint at {where} refused: {exc.message}"
    else:
        text = f"Telegram's endpoint at {where}: {exc}"
    return " ".join(text.split())


async def _check(settings: Settings, schema: int | None, *, offline: bool) -> int:
    """Validate the configuration (`schema`: the database's version, None if there is none
    yet); unless offline, also reach Telegram and the panel. Offline, nothing heavy is
    imported: it stays cheap enough for a frequent probe."""
    mode = "personal" if settings.operator_account is None else "operator"
    transport = "polling" if settings.webhook_url is None else "webhook"
    if settings.postgres_url is not None:
        stored = "PostgreSQL, not reached offline" if offline else "PostgreSQL"
    else:
        stored = "not created yet" if schema is None else f"schema version {schema}"
    print(
        f"configuration ok: {mode} mode, {transport}, database {settings.database_shown} ({stored})"
    )
    if offline:
        return EXIT_OK
    from aiogram.exceptions import ClientDecodeError, TelegramAPIError

    from bot.app import build_bot
    from bot.smmlaba import PanelException, SmmLabaClient

    failed = False
    bot = build_bot(settings)
    try:
        me = await bot.get_me()
        print(f"telegram ok: @{me.username}")
    except (TelegramAPIError, ClientDecodeError, OSError) as exc:
        problem = telegram_problem(exc, settings.telegram_api_url)
        print(f"telegram check failed: {problem}", file=sys.stderr)
        failed = True
    finally:
        await bot.session.close()
    if settings.operator_account is None:
        print("panel: skipped (personal mode: each user links their own account)")
    else:
        username, api_key = settings.operator_account
        panel = SmmLabaClient(
            username,
            api_key,
            url=settings.smmlaba_api_url,
            timeout=settings.smmlaba_timeout_seconds,
        )
        async with panel:
            try:
                await panel.test()
                balance = await panel.balance()
                print(f"panel ok: {panel.username}, balance {balance} {settings.panel_currency}")
            except PanelException as exc:
                print(f"panel check failed: {exc}", file=sys.stderr)
                failed = True
    return EXIT_FAILED if failed else EXIT_OK


async def _backup(settings: Settings, target: Path) -> int:
    """Copy the database to `target`, then say where the key that opens its encrypted API
    keys is: never in the copy, and to be kept apart from it."""
    from bot.secretbox import key_file_for
    from storage.backup import BackupError, BackupExists, backup

    if settings.postgres_url is not None:
        print(
            f"smmbot: backup copies an SQLite file; {settings.database_shown} is PostgreSQL: "
            "back it up with pg_dump (and keep BOT_SECRET_KEY apart from the dump)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        result = await backup(settings.sqlite_path, target)
    except BackupExists as exc:
        print(f"smmbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except BackupError as exc:
        print(f"smmbot: backup failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"backed up {settings.sqlite_path} to {result.path}: {result.size:,} bytes, "
        f"schema version {result.schema_version}, integrity ok"
    )
    sealed = result.sealed_keys
    lost = (
        f"without it the {sealed} linked account(s)' panel API keys in the copy cannot be "
        "opened, and those people must /connect again"
        if sealed
        else "the copy holds no linked account's API key yet"
    )
    apart = "separately, apart from the database backup"
    key_file = key_file_for(settings.sqlite_path)
    if settings.bot_secret_key is not None:
        print(f"key: BOT_SECRET_KEY, from the environment, is not in the copy: keep it {apart}")
        print(f"  ({lost})")
    elif key_file.exists():
        print(f"key file: {key_file} is not in the copy: back it up {apart}")
        print(f"  ({lost})")
    elif sealed:
        print(
            f"key: BOT_SECRET_KEY is not set and there is no {key_file}: the {sealed} linked "
            "account(s)' panel API keys in the copy open only with the key they were sealed with"
        )
    else:
        print(f"key file: none yet ({key_file} is made when the bot starts); {lost}")
    return EXIT_OK


async def _sandbox_panel(args: argparse.Namespace) -> int:
    from bot.sandbox.catalog import builtin_catalog, load_catalog, synthetic_catalog
    from bot.sandbox.panel import Faults, SandboxClock, demo_panel, serve

    if args.catalog is not None:
        catalog = load_catalog(args.catalog)
    elif args.synthetic:
        catalog = synthetic_catalog(args.synthetic, seed=args.seed)
    else:
        catalog = builtin_catalog()
    faults = Faults(
        latency=args.latency,
        error_rate=args.error_rate,
        html_rate=args.html_rate,
        hang_rate=args.hang_rate,
        bad_json_rate=args.bad_json_rate,
        lost_answer_rate=args.lost_answer_rate,
    )
    panel, account = demo_panel(
        username=args.username,
        api_key=args.apikey,
        balance=args.balance,
        catalog=catalog,
        seed=args.seed,
        clock=SandboxClock(args.time_scale),
        faults=faults,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serve(panel, args.host, args.port) as url:
        print(f"SMMLaba sandbox panel: {url} ({len(catalog)} services)")
        print("Demo account (paste into .env):")
        print(f"  SMMLABA_API_URL={url}")
        print(f"  SMMLABA_USERNAME={account.username}")
        print(f"  SMMLABA_APIKEY={account.api_key}")
        print(f"Fault knobs at run time: POST JSON to {url.split('/vkapi')[0]}/_sandbox/faults")
        sys.stdout.flush()
        await stop.wait()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
