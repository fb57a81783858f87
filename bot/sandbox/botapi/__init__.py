"""The Bot API as Telegram would enforce it: request parameters checked against the
specification subset beside this file, and the limits Telegram applies on top of it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from html import unescape
from pathlib import Path
from typing import Any

# The scraped specification marks a few parameters optional that Telegram requires.
REQUIRED_TOO = {"editMessageText": {"text"}}
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
HTML_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "tg-spoiler": set(),
    "span": {"class"},
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
    "tg-emoji": {"emoji-id"},
}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")


class BadRequest(Exception):
    """What Telegram would answer instead of doing the request."""

    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@cache
def specification() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (Path(__file__).parent / "api.json").read_text(encoding="utf-8")
    )
    return data


def utf16_length(text: str) -> int:
    """Telegram counts text in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Field:
    name: str
    types: tuple[str, ...]
    required: bool


def method_fields(method: str) -> dict[str, Field] | None:
    definition = specification()["methods"].get(method)
    if definition is None:
        return None
    forced = REQUIRED_TOO.get(method, set())
    return {
        f["name"]: Field(f["name"], tuple(f["types"]), f["required"] or f["name"] in forced)
        for f in definition.get("fields", [])
    }


def decode_parameters(method: str, raw: dict[str, Any], *, from_form: bool) -> dict[str, Any]:
    """Check `raw` against the specification and return the values decoded.

    Form values arrive as strings, with objects and arrays JSON-encoded (as aiogram and most
    libraries send them); a JSON body carries native values."""
    fields = method_fields(method)
    if fields is None:
        raise BadRequest("Not Found", status=404)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise BadRequest(f"Bad Request: unknown parameter {unknown[0]!r} for {method}")
    decoded: dict[str, Any] = {}
    for field in fields.values():
        if field.name not in raw:
            if field.required:
                raise BadRequest(f'Bad Request: parameter "{field.name}" is required')
            continue
        value = raw[field.name]
        try:
            decoded[field.name] = _decode(value, field.types, from_form=from_form)
        except ValueError as exc:
            raise BadRequest(f'Bad Request: can\'t parse parameter "{field.name}": {exc}') from None
    return decoded


def _decode(value: Any, types: tuple[str, ...], *, from_form: bool) -> Any:
    problems = []
    for declared in types:
        try:
            return _as(value, declared, from_form=from_form)
        except ValueError as exc:
            problems.append(str(exc))
    raise ValueError("; ".join(problems))


def _as(value: Any, declared: str, *, from_form: bool) -> Any:
    if from_form and isinstance(value, str):
        if declared == "Integer":
            if not re.fullmatch(r"-?[0-9]+", value):
                raise ValueError(f"{value[:20]!r} is not an Integer")
            return int(value)
        if declared == "Float":
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"{value[:20]!r} is not a Float") from None
        if declared in ("Boolean", "True"):
            if value not in ("true", "false", "True", "False", "1", "0"):
                raise ValueError(f"{value[:20]!r} is not a Boolean")
            return value in ("true", "True", "1")
        if declared == "String":
            return value
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"expected JSON for {declared}") from None
    return check_value(value, declared)


def check_value(value: Any, declared: str) -> Any:
    """`value` (native JSON) must be of `declared` type; returns it unchanged."""
    if declared.startswith("Array of "):
        if not isinstance(value, list):
            raise ValueError(f"expected {declared}")
        for item in value:
            check_value(item, declared.removeprefix("Array of "))
        return value
    if declared == "Integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected an Integer")
        return value
    if declared == "Float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("expected a Float")
        return value
    if declared in ("Boolean", "True"):
        if not isinstance(value, bool):
            raise ValueError("expected a Boolean")
        return value
    if declared == "String":
        if not isinstance(value, str):
            raise ValueError("expected a String")
        return value
    if declared == "InputFile":
        raise ValueError("files are not supported by the emulator")
    return _check_object(value, declared)


def _check_object(value: Any, type_name: str) -> Any:
    definition = specification()["types"].get(type_name)
    if definition is None:
        raise ValueError(f"unknown type {type_name}")
    if definition.get("subtypes"):
        problems = []
        for subtype in definition["subtypes"]:
            try:
                return _check_object(value, subtype)
            except ValueError as exc:
                problems.append(f"{subtype}: {exc}")
        raise ValueError(f"matches no kind of {type_name} ({'; '.join(problems)})")
    if not isinstance(value, dict):
        raise ValueError(f"expected a {type_name} object")
    fields = {f["name"]: f for f in definition.get("fields", [])}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise ValueError(f"{type_name} has no field {unknown[0]!r}")
    for name, field in fields.items():
        if name not in value:
            if field["required"]:
                raise ValueError(f"{type_name}.{name} is required")
            continue
        if name == "type":
            # Kinds of one family (scopes, ...) are told apart by "type, must be X".
            expected = re.search(r"must be (?:always )?[\"“]?([a-z_]+)", field["description"])
            if expected and value[name] != expected[1]:
                raise ValueError(f"{type_name}.type must be {expected[1]}")
        _decode_native(value[name], tuple(field["types"]), f"{type_name}.{name}")
    return value


def _decode_native(value: Any, types: tuple[str, ...], where: str) -> None:
    problems = []
    for declared in types:
        try:
            check_value(value, declared)
            return
        except ValueError as exc:
            problems.append(str(exc))
    raise ValueError(f"{where}: {'; '.join(problems)}")


# -- Telegram's limits beyond types ------------------------------------------------------


def render_html(text: str) -> str:
    """The text a person sees for `text` in HTML parse mode; BadRequest where Telegram
    could not parse it."""
    visible: list[str] = []
    open_tags: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = _TAG.match(text, position)
            if match is None:
                raise _unparseable(f"unexpected character '<' at byte offset {position}")
            closing, name, attrs = match[1], match[2].lower(), match[3]
            if name not in HTML_TAGS:
                raise _unparseable(f'unsupported start tag "{name}" at byte offset {position}')
            if closing:
                if not open_tags or open_tags[-1] != name:
                    raise _unparseable(f'unexpected end tag "{name}" at byte offset {position}')
                open_tags.pop()
            else:
                for attr in _ATTR.findall(attrs):
                    if attr[0].lower() not in HTML_TAGS[name]:
                        raise _unparseable(f'unsupported attribute "{attr[0]}" in tag "{name}"')
                open_tags.append(name)
            position = match.end()
        elif char == "&":
            match = _ENTITY.match(text, position)
            if match is None:
                raise _unparseable(f"character '&' is reserved at byte offset {position}")
            visible.append(unescape(match[0]))
            position = match.end()
        elif char == ">":
            raise _unparseable(f"character '>' is reserved at byte offset {position}")
        else:
            visible.append(char)
            position += 1
    if open_tags:
        raise _unparseable(f'can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(visible)


def _unparseable(detail: str) -> BadRequest:
    return BadRequest(f"Bad Request: can't parse entities: {detail}")


def message_text(params: dict[str, Any]) -> str:
    """The visible text of a sendMessage/editMessageText request, within Telegram's limits."""
    text = params.get("text", "")
    mode = (params.get("parse_mode") or "").lower()
    visible = render_html(text) if mode == "html" else text
    visible = visible.strip()
    if not visible:
        raise BadRequest("Bad Request: message text is empty")
    if utf16_length(visible) > 4096:
        raise BadRequest("Bad Request: message is too long")
    return visible


def caption_text(params: dict[str, Any]) -> str:
    """The visible caption of a sendPhoto request (it may be empty), within Telegram's
    limit."""
    caption = params.get("caption", "")
    mode = (params.get("parse_mode") or "").lower()
    visible = (render_html(caption) if mode == "html" else caption).strip()
    if utf16_length(visible) > 1024:
        raise BadRequest("Bad Request: message caption is too long")
    return visible


def check_reply_markup(markup: dict[str, Any] | None) -> None:
    if not markup or "inline_keyboard" not in markup:
        return
    for row in markup["inline_keyboard"]:
        for button in row:
            if not button.get("text", "").strip():
                raise BadRequest("Bad Request: text buttons are unallowed in the inline keyboard")
            actions = [name for name in BUTTON_ACTIONS if name in button]
            if len(actions) != 1:
                raise BadRequest(
                    "Bad Request: can't parse inline keyboard button: "
                    "exactly one of the optional fields must be used"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"^(https?|tg)://\S+$", url):
                raise BadRequest(f"Bad Request: inline keyboard button URL '{url}' is invalid")


def check_commands(commands: list[dict[str, Any]]) -> None:
    if len(commands) > 100:
        raise BadRequest("Bad Request: too many commands")
    for command in commands:
        if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]):
            raise BadRequest("Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(command["description"]) <= 256:
            raise BadRequest("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")


def check_description(text: str, limit: int) -> str:
    """setMyDescription (512) and setMyShortDescription (120): what Telegram refuses."""
    if utf16_length(text) > limit:
        raise BadRequest("Bad Request: description is too long")
    return text
