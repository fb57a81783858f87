"""Copy the part of the Bot API specification the Telegram emulator implements into the project.

    python scripts/extract_botapi_subset.py ../shared/telegram-bot-api/api.json

Writes bot/sandbox/botapi/api.json: the listed methods and every type they reach.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

METHODS = [
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "deleteMyCommands",
    "getMyCommands",
    "setMyDescription",
    "setMyShortDescription",
    "setChatMenuButton",
    "sendMessage",
    "sendPhoto",
    "sendChatAction",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "deleteMessage",
]
PRIMITIVES = {"Integer", "String", "Boolean", "Float", "InputFile", "True"}


def type_names(declared: str) -> set[str]:
    return {name for name in re.split(r"Array of |\s+", declared) if name}


def main(source: Path, target: Path) -> None:
    spec: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    methods = {name: spec["methods"][name] for name in METHODS}
    wanted: set[str] = set()
    queue = [t for m in methods.values() for f in m.get("fields", []) for t in f["types"]]
    while queue:
        for name in type_names(queue.pop()):
            if name in PRIMITIVES or name in wanted or name not in spec["types"]:
                continue
            wanted.add(name)
            definition = spec["types"][name]
            queue.extend(t for f in definition.get("fields", []) for t in f["types"])
            queue.extend(definition.get("subtypes", []))
    subset = {
        "version": spec["version"],
        "release_date": spec["release_date"],
        "methods": methods,
        "types": {name: spec["types"][name] for name in sorted(wanted)},
    }
    target.write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{target}: {len(methods)} methods, {len(wanted)} types")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(__file__).parent.parent / "bot/sandbox/botapi/api.json")
