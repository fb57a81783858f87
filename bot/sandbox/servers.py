"""Throwaway PostgreSQL and Redis servers on 127.0.0.1, from the distribution's packages, for
the tests, the benchmarks and trying the scaled-out bot by hand. Each lives in a temporary
directory, listens on a free port, keeps nothing on disk that matters, and is gone when its
block ends.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "apt-get install -y postgresql redis-server"
START_TIMEOUT = 30.0
# Loopback only; no fsync, since nothing here outlives the server; room for many replicas.
THROWAWAY = (
    "-h", "127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
    "-c", "full_page_writes=off", "-c", "max_connections=300",
)  # fmt: skip
NO_PERSISTENCE = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no")


class ServerUnavailable(Exception):
    """The server's programs are not installed here; the message says how to get them."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def postgres_bindir() -> Path:
    """Where `initdb` and `postgres` are: Debian keeps them out of PATH, one folder per
    version (the newest wins); `PG_BINDIR` overrides."""
    if chosen := os.environ.get("PG_BINDIR"):
        return Path(chosen)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path is None:
        raise ServerUnavailable(f"PostgreSQL is not installed: {INSTALL_HINT}")
    return Path(on_path).parent


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {port} in {START_TIMEOUT:.0f}s: {_tail(log)}")


def _wait_until_ready(bindir: Path, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Listening is not accepting: PostgreSQL refuses connections while it starts up."""
    deadline = time.monotonic() + START_TIMEOUT
    ready: list[str | Path] = [bindir / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]
    while subprocess.run(ready, check=False).returncode != 0:  # noqa: S603
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not become ready: {_tail(log)}")
        time.sleep(0.05)


def _tail(log: Path) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-5:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True, slots=True)
class Postgres:
    """A running throwaway cluster; `url(name)` names one of its databases."""

    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    """A new cluster, trusting local connections, tuned for throwaway use (no fsync: its data
    does not outlive the block). PostgreSQL refuses to run as root: then it runs as the
    `postgres` user the package creates."""
    bindir = postgres_bindir()
    as_root = os.geteuid() == 0
    run_as = "postgres" if as_root else None
    workdir = Path(tempfile.mkdtemp(prefix="smmbot-pg-"))
    try:
        if as_root:
            shutil.chown(workdir, "postgres", "postgres")
        data, log = workdir / "data", workdir / "server.log"
        user = "postgres" if as_root else os.environ.get("USER", "postgres")
        subprocess.run(  # noqa: S603 - fixed program, our own arguments
            [bindir / "initdb", "-D", data, "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            user=run_as,
            group=run_as,
        )
        port = free_port()
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603
                [bindir / "postgres", "-D", data, "-p", str(port), "-k", "", *THROWAWAY],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=run_as,
                group=run_as,
            )
        try:
            _wait_for_port(port, process, log)
            _wait_until_ready(bindir, port, process, log)
            yield Postgres(port, user)
        finally:
            _stop(process)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def redis() -> Iterator[str]:
    """A Redis server without persistence; yields its URL."""
    program = shutil.which("redis-server")
    if program is None:
        raise ServerUnavailable(f"Redis is not installed: {INSTALL_HINT}")
    workdir = Path(tempfile.mkdtemp(prefix="smmbot-redis-"))
    try:
        port, log = free_port(), workdir / "server.log"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603
                [program, "--port", str(port), "--dir", workdir, *NO_PERSISTENCE],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_for_port(port, process, log)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            _stop(process)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.asynccontextmanager
async def database_for(backend: str, workdir: Path, name: str) -> AsyncIterator[str]:
    """The URL of an empty database for a benchmark: an SQLite file in `workdir`, or a
    PostgreSQL database `name` made on DATABASE_URL's server, else on a throwaway one."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.sqlite3'}"
        return
    with contextlib.ExitStack() as stack:
        server = os.environ.get("DATABASE_URL") or stack.enter_context(postgres()).url()
        yield await create_database(server, name)


async def create_database(server: str, name: str) -> str:
    """Make database `name` on the server `server` names; its URL."""
    import asyncpg

    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return server.rsplit("/", 1)[0] + f"/{name}"
