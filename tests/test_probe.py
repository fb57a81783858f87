"""`python -m bot.probe`, the container's health check: run as Docker runs it, in its own
process, against a real aiohttp server on 127.0.0.1 standing in for the bot's."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bot.probe import ProbeError, choose_port, get, read_dotenv, variables
from bot.serving import serve_app
from tests.processes import PIPE, environment


@dataclass
class Bot:
    """The stand-in's port and the statuses its /healthz and /readyz answer with."""

    port: int
    healthz: int = 200
    readyz: int = 200


@dataclass
class Probe:
    code: int | None
    stdout: str
    stderr: str


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    stand_in = Bot(port=0)

    def verdict(status: int) -> web.Response:
        if status == 200:
            return web.json_response({"status": "ok"})
        body = {"status": "failing", "problems": ["telegram: not answering"]}
        return web.json_response(body, status=status)

    async def healthz(_request: web.Request) -> web.Response:
        return verdict(stand_in.healthz)

    async def readyz(_request: web.Request) -> web.Response:
        return verdict(stand_in.readyz)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    async with serve_app(app) as base:
        stand_in.port = int(base.rsplit(":", 1)[1])
        yield stand_in


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def probe(*args: str, env: Mapping[str, str], cwd: Path) -> Probe:
    """`python -m bot.probe *args` with only `env` of the bot's variables, in `cwd`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.probe",
        *args,
        cwd=cwd,
        env=environment(env),
        stdout=PIPE,
        stderr=PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    return Probe(process.returncode, stdout.decode(), stderr.decode())


def one_line(text: str) -> str:
    assert text.endswith("\n")
    assert text.count("\n") == 1, text
    return text.strip()


async def test_a_live_bot_passes(bot: Bot, tmp_path: Path) -> None:
    result = await probe(env={"HEALTH_PORT": str(bot.port)}, cwd=tmp_path)
    assert (result.code, result.stderr) == (0, "")
    assert "/healthz: 200 OK" in one_line(result.stdout)


async def test_503_fails_with_the_problems_on_one_line(bot: Bot, tmp_path: Path) -> None:
    bot.healthz = 503
    result = await probe(env={"HEALTH_PORT": str(bot.port)}, cwd=tmp_path)
    assert (result.code, result.stdout) == (1, "")
    line = one_line(result.stderr)
    assert line.startswith(f"healthz: http://127.0.0.1:{bot.port}/healthz: 503 ")
    assert "telegram: not answering" in line


async def test_readyz_asks_for_readiness(bot: Bot, tmp_path: Path) -> None:
    bot.readyz = 503
    env = {"HEALTH_PORT": str(bot.port)}
    alive, ready = await probe(env=env, cwd=tmp_path), await probe("readyz", env=env, cwd=tmp_path)
    assert (alive.code, ready.code) == (0, 1)
    assert one_line(ready.stderr).startswith("readyz: ")
    assert "/readyz: 503 " in ready.stderr


async def test_nothing_listening_fails(tmp_path: Path) -> None:
    port = free_port()
    result = await probe(env={"HEALTH_PORT": str(port)}, cwd=tmp_path)
    assert result.code == 1
    assert one_line(result.stderr) == (
        f"healthz: http://127.0.0.1:{port}/healthz: Connection refused"
    )


@pytest.mark.parametrize("health_port", [None, "", "  "])
async def test_polling_without_health_port_fails_saying_so(
    health_port: str | None, tmp_path: Path
) -> None:
    env = {} if health_port is None else {"HEALTH_PORT": health_port}
    result = await probe(env=env, cwd=tmp_path)
    assert result.code == 1
    assert one_line(result.stderr).startswith("healthz: HEALTH_PORT is not set")


async def test_webhook_mode_asks_the_webhook_port_not_health_port(bot: Bot, tmp_path: Path) -> None:
    """With WEBHOOK_URL set the bot serves /healthz on the webhook server (WEBHOOK_PORT) and
    nothing on HEALTH_PORT, whatever it says."""
    hook = "https://bot.example.com/telegram/hook"
    dead = str(free_port())
    served = {"WEBHOOK_URL": hook, "WEBHOOK_PORT": str(bot.port), "HEALTH_PORT": dead}
    elsewhere = {"WEBHOOK_URL": hook, "WEBHOOK_PORT": dead, "HEALTH_PORT": str(bot.port)}
    assert (await probe(env=served, cwd=tmp_path)).code == 0
    refused = await probe(env=elsewhere, cwd=tmp_path)
    assert refused.code == 1
    assert f"127.0.0.1:{dead}/healthz" in one_line(refused.stderr)
    # A blank WEBHOOK_URL is unset, as in the settings: polling, HEALTH_PORT.
    blank = {"WEBHOOK_URL": " ", "WEBHOOK_PORT": dead, "HEALTH_PORT": str(bot.port)}
    assert (await probe(env=blank, cwd=tmp_path)).code == 0


def test_webhook_port_defaults_to_8080() -> None:
    assert choose_port({"webhook_url": "https://bot.example.com/hook"}) == 8080
    assert choose_port({"webhook_url": "https://x.example", "webhook_port": ""}) == 8080
    assert choose_port({"webhook_url": "https://x.example", "webhook_port": "8443"}) == 8443


async def test_env_file_and_lower_case_names_count_like_in_the_settings(
    bot: Bot, tmp_path: Path
) -> None:
    """pydantic-settings reads `.env` in the working directory, names case-insensitive, and
    the environment wins over it: so does the probe."""
    (tmp_path / ".env").write_text(f"# the bot's\nexport HEALTH_PORT={bot.port}\n")
    assert (await probe(env={}, cwd=tmp_path)).code == 0
    assert (await probe(env={"HEALTH_PORT": str(free_port())}, cwd=tmp_path)).code == 1
    (tmp_path / ".env").unlink()
    assert (await probe(env={"health_port": str(bot.port)}, cwd=tmp_path)).code == 0


def test_dotenv_values_read_as_python_dotenv_reads_them(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\n"
        "HEALTH_PORT = 8081  # the health server\n"
        "export WEBHOOK_URL='https://bot.example.com/#hook'\n"
        'webhook_port="8443"\n'
        "BOT_TOKEN=not-ours\n"
        "not a variable\n"
    )
    assert read_dotenv(str(dotenv))["health_port"] == "8081"
    assert variables({"WEBHOOK_PORT": "9000"}, dotenv=str(dotenv)) == {
        "health_port": "8081",
        "webhook_url": "https://bot.example.com/#hook",
        "webhook_port": "9000",
    }
    assert read_dotenv(str(tmp_path / "missing")) == {}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {"HEALTH_PORT": "http"}, "healthz: HEALTH_PORT is not a port number: 'http'"),
        ((), {"HEALTH_PORT": "70000"}, "healthz: HEALTH_PORT is not a port number: '70000'"),
        (
            (),
            {"WEBHOOK_URL": "https://x.example", "WEBHOOK_PORT": "-1"},
            "healthz: WEBHOOK_PORT is not a port number: '-1'",
        ),
        (("livez",), {"HEALTH_PORT": "9"}, "usage: python -m bot.probe [healthz|readyz]"),
    ],
)
async def test_mistakes_exit_1_never_2(
    args: tuple[str, ...], env: dict[str, str], message: str, tmp_path: Path
) -> None:
    """Docker reserves exit code 2; a usage mistake is a failed check like any other."""
    result = await probe(*args, env=env, cwd=tmp_path)
    assert result.code == 1
    assert one_line(result.stderr) == message


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_bot_that_does_not_answer_times_out(silent_port: int) -> None:
    with pytest.raises(ProbeError, match=r"/healthz: no answer within 0\.2 s"):
        get(silent_port, "healthz", timeout=0.2)


def test_a_stranger_on_the_port_is_not_healthy() -> None:
    """Something that is not an HTTP server (or not ours) does not pass the check."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(1024)
                connection.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

        thread = threading.Thread(target=answer)
        thread.start()
        with pytest.raises(ProbeError, match=r"not an HTTP answer: 'SSH-2\.0"):
            get(port, "healthz", timeout=5)
        thread.join()


async def test_the_probe_imports_no_settings_and_no_aiogram(bot: Bot, tmp_path: Path) -> None:
    """It runs every 30 s beside the bot: `import bot` and the probe stay a few standard
    modules (the settings' pydantic and aiogram cost seconds and a hundred megabytes)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-X",
        "importtime",
        "-m",
        "bot.probe",
        cwd=tmp_path,
        env=environment({"HEALTH_PORT": str(bot.port)}),
        stdout=PIPE,
        stderr=PIPE,
    )
    _stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.decode().splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "bot" in imported  # the package's __init__, before bot.probe runs as __main__
    heavy = {"pydantic", "pydantic_settings", "aiogram", "aiohttp", "httpx", "http", "email"}
    assert not {name for name in imported if name.split(".")[0] in heavy}
    assert not {name for name in imported if name.startswith("bot.")}
