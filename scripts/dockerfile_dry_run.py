"""Run the Dockerfile's build steps without Docker (no engine on the CI machines): a fresh
virtualenv stands in for the image's Python, COPY copies into a scratch /app, RUN runs there
with ENV set, and the HEALTHCHECK command must then succeed.

    python scripts/dockerfile_dry_run.py

Exits non-zero if any step fails. Steps for the image itself (FROM, USER, VOLUME, EXPOSE,
CMD, useradd) are skipped: they need a container.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).parent.parent
SKIPPED = ("FROM", "USER", "VOLUME", "EXPOSE", "CMD", "WORKDIR")


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), with continuation lines joined and comments dropped."""
    steps: list[tuple[str, str]] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        steps.append((keyword.upper(), rest.strip()))
    return steps


def main() -> int:
    scratch = Path(tempfile.mkdtemp(prefix="dockerfile-"))
    try:
        venv.create(scratch / "venv", with_pip=True)
        app = scratch / "app"
        app.mkdir()
        env = dict(os.environ)
        env["PATH"] = f"{scratch / 'venv' / 'bin'}{os.pathsep}{env['PATH']}"
        env["DATABASE_PATH"] = str(scratch / "data" / "smmbot.sqlite3")
        # A container runs with the bot's configuration; its health check needs the token.
        env.setdefault("BOT_TOKEN", "123456:dry-run-token")
        for keyword, rest in instructions(ROOT / "Dockerfile"):
            if keyword in SKIPPED:
                continue
            if keyword == "ENV":
                for pair in shlex.split(rest):
                    name, _, value = pair.partition("=")
                    if name != "DATABASE_PATH":  # /data is the container's volume
                        env[name] = value
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
                command = json.loads(rest.split("CMD", 1)[1].strip())
                print(f"HEALTHCHECK {' '.join(command)}", flush=True)
                # The image runs from outside the source tree: so does this.
                subprocess.run(command, cwd=scratch, env=env, check=True)  # noqa: S603
            else:
                raise SystemExit(f"unknown Dockerfile instruction {keyword}: teach this script")
    except subprocess.CalledProcessError as exc:
        print(f"dockerfile dry run failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("dockerfile dry run: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
