"""`smmbot`: run the bot, try it offline, check its configuration, or serve the sandbox panel.

Exit codes: 0 fine, 1 a check failed, 2 the configuration is wrong (one line on stderr).
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
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bot.config import ConfigError, Settings, load_settings
from bot.output import redacting_output
from bot.redaction import Redactor

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


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
        if args.command in ("check", "run"):
            settings.require_bot_token()  # check fails exactly when run would
        if args.command == "check":
            return asyncio.run(_check(settings, offline=args.offline))
        if args.command == "run":
            return _run(settings)
    except ConfigError as exc:
        print(f"smmbot: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK
    parser.print_help()
    return EXIT_CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smmbot", description=__doc__.splitlines()[0])
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


async def _check(settings: Settings, *, offline: bool) -> int:
    """Validate the configuration; unless offline, also reach Telegram and the panel."""
    from aiogram.exceptions import ClientDecodeError, TelegramAPIError

    from bot.app import build_bot
    from bot.smmlaba import PanelException, SmmLabaClient

    mode = "personal" if settings.operator_account is None else "operator"
    transport = "polling" if settings.webhook_url is None else "webhook"
    print(f"configuration ok: {mode} mode, {transport}, database {settings.database_path}")
    if offline:
        return EXIT_OK
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
