"""Run the Dockerfile's build steps without Docker (no engine on the CI machines).

    python scripts/dockerfile_dry_run.py

1. The lock is honest: each dependency pyproject.toml names for the image's platform is
   pinned in requirements.lock, with hashes, at a version it allows, for the image's Python.
2. A fresh virtualenv stands in for the base image, with the build backend the image ships;
   COPY copies into a scratch /app, RUN runs there with ENV set.
3. The HEALTHCHECK command, run from outside the source tree, passes against a stand-in
   server answering /healthz with 200 on HEALTH_PORT, and fails with nothing listening there.
   The image EXPOSEs that port and compose's healthcheck runs the same command.
4. `smmbot check --offline` reads the configuration a container starts with.

Exits non-zero if any step fails. Steps for the container itself (USER, VOLUME, CMD,
useradd) are skipped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
import venv
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).parent.parent
LOCK = "requirements.lock"
# The one command that writes the lock (its header repeats it); `--upgrade` moves every pin
# to the newest version pyproject.toml allows, without it pins change only where they must.
REGENERATE = (
    "pip install uv && uv pip compile pyproject.toml --generate-hashes --python-version 3.11 "
    f"--python-platform x86_64-unknown-linux-gnu -o {LOCK}"
)
# The image's platforms: the lock is compiled on x86_64 and holds aarch64's wheels too.
MACHINES = ("x86_64", "aarch64")
SKIPPED = ("USER", "VOLUME", "CMD", "WORKDIR")
# What docker-library's python:3.11 images install beside pip (their Dockerfile's
# `pip3 install setuptools==... wheel==...`): the image builds the project with these.
BASE_IMAGE_TOOLS = ("setuptools==79.0.1", "wheel==0.46.3")
# The bot's variables that choose the probe's port: the dry run sets them, nobody else.
PROBE_VARIABLES = ("webhook_url", "webhook_port", "health_port")


class DryRunError(Exception):
    """A step failed; the message says which and why."""


@dataclass(frozen=True)
class Pin:
    version: Version
    hashes: int


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), with continuation lines joined and comments dropped."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        steps.append((keyword.upper(), rest.strip()))
    return steps


def image_python(from_arguments: str) -> str:
    """`python:3.11.18-slim[@sha256:...]` -> "3.11.18"."""
    match = re.fullmatch(r"python:(\d+\.\d+\.\d+)-slim\S*", from_arguments.split()[0])
    if match is None:
        raise DryRunError(f"FROM {from_arguments}: expected python:X.Y.Z-slim, a patch release")
    return match.group(1)


def image_environment(python: str, machine: str = "x86_64") -> dict[str, str]:
    """Marker values for the image: CPython `python` on Linux."""
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": machine,
        "python_version": ".".join(python.split(".")[:2]),
        "python_full_version": python,
    }


def parse_lock(text: str) -> dict[NormalizedName, Pin]:
    """`name==version --hash=...` entries of a pip requirements file, by normalized name."""
    pins: dict[NormalizedName, Pin] = {}
    logical = re.sub(r"\\\n", " ", text)
    for raw in logical.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        spec, *options = line.split(" --")
        hashes = sum(option.strip().startswith("hash=") for option in options)
        try:
            requirement = Requirement(spec.strip())
        except InvalidRequirement as exc:
            raise DryRunError(f"{LOCK}: {spec.strip()!r} is not a requirement: {exc}") from None
        pinned = [s for s in requirement.specifier if s.operator == "=="]
        if len(pinned) != 1 or "*" in pinned[0].version:
            raise DryRunError(f"{LOCK}: {spec.strip()!r} does not pin one version")
        pins[canonicalize_name(requirement.name)] = Pin(Version(pinned[0].version), hashes)
    return pins


def lock_problems(pyproject: Mapping[str, object], lock_text: str, python: str) -> list[str]:
    """Why the lock would not give the image what pyproject.toml asks for; [] when it does.
    Extras' own dependencies are left to `pip check`, which runs after the install."""
    project = pyproject.get("project")
    if not isinstance(project, dict):
        return ["pyproject.toml has no [project] table"]
    problems: list[str] = []
    requires_python = project.get("requires-python")
    if isinstance(requires_python, str):
        try:
            if not SpecifierSet(requires_python).contains(python):
                problems.append(f"the image's Python {python} is not requires-python")
        except InvalidSpecifier:
            problems.append(f"requires-python {requires_python!r} is not a version specifier")
    compiled_for = re.search(r"--python-version[ =](\d+\.\d+)", lock_text)
    minor = ".".join(python.split(".")[:2])
    if compiled_for is not None and compiled_for.group(1) != minor:
        problems.append(f"{LOCK} was compiled for Python {compiled_for.group(1)}, not {minor}")
    pins = parse_lock(lock_text)
    problems += [
        f"{LOCK}: {n}=={pin.version} has no --hash" for n, pin in pins.items() if not pin.hashes
    ]
    platforms = [image_environment(python, machine) for machine in MACHINES]
    for text in project.get("dependencies", []):
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is not None and not any(marker.evaluate(env) for env in platforms):
            continue  # not installed in the image (e.g. only on Windows)
        name = canonicalize_name(requirement.name)
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{text!r} is not in {LOCK}")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{text!r} is not satisfied by {LOCK}'s {name}=={pin.version}")
    return problems


class _StandIn(BaseHTTPRequestHandler):
    """The bot's /healthz, alive."""

    def do_GET(self) -> None:
        status, body = (200, b'{"status": "ok"}') if self.path == "/healthz" else (404, b"")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the dry run's output is its steps


@contextmanager
def stand_in_server() -> Iterator[int]:
    """A server on 127.0.0.1 answering /healthz with 200; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def compose_healthcheck(compose: str) -> list[str] | None:
    """The `test: [...]` of compose.yaml's one healthcheck that has one (the bot's)."""
    match = re.search(r"^\s*test:\s*(\[.*\])\s*$", compose, re.MULTILINE)
    return None if match is None else list(json.loads(match.group(1)))


def check_healthcheck(rest: str, env: Mapping[str, str], exposed: set[int], cwd: Path) -> None:
    """The HEALTHCHECK passes while the bot's /healthz answers 200 and fails without it."""
    command = json.loads(rest.split("CMD", 1)[1].strip())
    health_port = env.get("HEALTH_PORT", "")
    if not health_port.isdigit() or int(health_port) not in exposed:
        raise DryRunError(f"HEALTH_PORT={health_port!r} is not a port the image EXPOSEs")
    in_compose = compose_healthcheck((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    if in_compose != ["CMD", *command]:
        raise DryRunError(f"compose.yaml's healthcheck test is {in_compose}, not CMD {command}")
    # Polling mode, as the image's ENV sets it, on a free port: 8080 may be taken here.
    probe_env = {k: v for k, v in env.items() if k.lower() not in PROBE_VARIABLES}
    with stand_in_server() as port:
        print(f"HEALTHCHECK {' '.join(command)}  (HEALTH_PORT={port}, /healthz 200)", flush=True)
        probe_env["HEALTH_PORT"] = str(port)
        alive = subprocess.run(command, cwd=cwd, env=probe_env, check=False)  # noqa: S603
    if alive.returncode != 0:
        raise DryRunError(f"the HEALTHCHECK exited {alive.returncode} with /healthz at 200")
    print(f"HEALTHCHECK {' '.join(command)}  (HEALTH_PORT={port}, nothing listening)", flush=True)
    dead = subprocess.run(command, cwd=cwd, env=probe_env, check=False)  # noqa: S603
    if dead.returncode != 1:
        raise DryRunError(f"the HEALTHCHECK exited {dead.returncode} with nothing listening")


def check_lock(python: str) -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        pyproject = tomllib.load(file)
    lock = ROOT / LOCK
    if not lock.exists():
        raise DryRunError(f"{LOCK} is missing; write it with: {REGENERATE}")
    problems = lock_problems(pyproject, lock.read_text(encoding="utf-8"), python)
    if problems:
        raise DryRunError("; ".join(problems) + f". Regenerate the lock with: {REGENERATE}")
    print(f"LOCK {LOCK} satisfies pyproject.toml for Python {python}", flush=True)


def run(scratch: Path) -> None:
    steps = instructions(ROOT / "Dockerfile")
    froms = [rest for keyword, rest in steps if keyword == "FROM"]
    if len(froms) != 1:
        raise DryRunError(f"expected one FROM, found {len(froms)}: teach this script")
    python = image_python(froms[0])
    check_lock(python)
    installs = [rest for keyword, rest in steps if keyword == "RUN" and f"-r {LOCK}" in rest]
    if not any("--require-hashes" in rest for rest in installs):
        raise DryRunError(f"no RUN installs {LOCK} with --require-hashes")

    bin_dir = scratch / "venv" / "bin"
    app = scratch / "app"
    app.mkdir()
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["DATABASE_PATH"] = str(scratch / "data" / "smmbot.sqlite3")
    # A container runs with the bot's configuration; `smmbot check` needs the token.
    env.setdefault("BOT_TOKEN", "123456:dry-run-token")
    exposed: set[int] = set()
    healthchecks: list[str] = []
    for keyword, rest in steps:
        if keyword in SKIPPED:
            continue
        if keyword == "FROM":
            print(f"FROM {rest}  (a virtualenv with {', '.join(BASE_IMAGE_TOOLS)})", flush=True)
            venv.create(scratch / "venv", with_pip=True)
            subprocess.run(  # noqa: S603
                [bin_dir / "pip", "install", "-q", *BASE_IMAGE_TOOLS], env=env, check=True
            )
        elif keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                if name != "DATABASE_PATH":  # /data is the container's volume
                    env[name] = value
        elif keyword == "EXPOSE":
            exposed |= {int(port.split("/")[0]) for port in rest.split()}
        elif keyword == "COPY":
            *sources, _target = shlex.split(rest)
            for source in sources:
                origin = ROOT / source
                if origin.is_dir():
                    shutil.copytree(
                        origin, app / source, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy2(origin, app / Path(source).name)
        elif keyword == "RUN":
            if "useradd" in rest:
                continue
            print(f"RUN {rest}", flush=True)
            subprocess.run(["bash", "-c", rest], cwd=app, env=env, check=True)  # noqa: S603, S607
        elif keyword == "HEALTHCHECK":
            healthchecks.append(rest)
        else:
            raise DryRunError(f"unknown Dockerfile instruction {keyword}: teach this script")
    if len(healthchecks) != 1:
        raise DryRunError(f"expected one HEALTHCHECK, found {len(healthchecks)}")
    # On the built image, like Docker; the installed package, not the sources: outside /app.
    check_healthcheck(healthchecks[0], env, exposed, cwd=scratch)
    print("CONFIG smmbot check --offline", flush=True)
    subprocess.run(["smmbot", "check", "--offline"], cwd=scratch, env=env, check=True)  # noqa: S607


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="dockerfile-"))
    try:
        run(scratch)
    except (subprocess.CalledProcessError, DryRunError) as exc:
        print(f"dockerfile dry run failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("dockerfile dry run: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
