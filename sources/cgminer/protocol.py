"""The cgminer API wire format: one command per TCP connection, one answer, then the rig closes it.

A request is `{"command": "summary"}` (JSON). Rigs answer in JSON or, for the old text API, the pipe format
`STATUS=S,When=1700000000,Code=11,Msg=Summary,Description=cgminer 4.9.2|SUMMARY,Elapsed=10,MHS av=13.5|`.
Both parse to the same shape, {section: [object, ...]} with the section names upper-case (`STATUS`,
`SUMMARY`, `DEVS`, `STATS`, `POOLS`). cgminer's JSON is often not JSON: a trailing NUL, `}{` between objects
(bmminer's `stats`, joined commands), trailing commas, control characters; these are repaired before
decoding. Anything else is an `AnswerError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

COMMANDS: tuple[str, ...] = ("summary", "devs", "stats", "pools")
#: The section a command's data comes in (pipe answers name theirs per item: GPU=0, ASC=0, POOL=0, ...).
SECTION = {"summary": "SUMMARY", "devs": "DEVS", "stats": "STATS", "pools": "POOLS"}
MAX_ANSWER_BYTES = 1 << 20

Answer = dict[str, list[dict[str, Any]]]
_MISSING_COMMA = re.compile(r"}\s*{")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class AnswerError(ValueError):
    """A rig's answer that is neither (repairable) JSON nor the pipe format, or says the command failed."""


def request(command: str) -> bytes:
    return json.dumps({"command": command}).encode()


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_pipe(text: str, command: str) -> Answer:
    """`STATUS=S,...|SUMMARY,Elapsed=10,...|` -> {"STATUS": [...], "SUMMARY": [...]}: every section but
    STATUS goes under the command's section; numbers become int/float."""
    out: Answer = {}
    for part in text.split("|"):
        part = part.strip()
        if not part:
            continue
        fields: dict[str, Any] = {}
        name = ""
        for i, token in enumerate(part.split(",")):
            key, sep, value = token.partition("=")
            if i == 0:
                name = key.strip()
            if sep:
                fields[key.strip()] = _number(value.strip())
        if not name or (not fields and name != SECTION.get(command)):
            raise AnswerError(f"pipe answer section without fields: {part[:60]!r}")
        section = "STATUS" if name == "STATUS" else SECTION.get(command, name.upper())
        out.setdefault(section, []).append(fields)
    if "STATUS" not in out:
        raise AnswerError("pipe answer without a STATUS section")
    return out


def parse_json(text: str, command: str) -> Answer:
    """cgminer's JSON (repaired) -> the sections, upper-case names; a joined command's answer
    (`{"summary": [{...}], ...}`) is flattened to its inner sections."""
    repaired = _TRAILING_COMMA.sub(r"\1", _MISSING_COMMA.sub("},{", _CONTROL.sub("", text)))
    try:
        value = json.loads(repaired)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"invalid JSON answer: {exc.msg} at {exc.pos}") from None
    if not isinstance(value, dict):
        raise AnswerError("JSON answer is not an object")
    out: Answer = {}
    for key, items in value.items():
        if key in COMMANDS and isinstance(items, list) and items and isinstance(items[0], dict):
            for name, inner in parse_json(json.dumps(items[0]), key.lower()).items():
                out.setdefault(name, []).extend(inner)
            continue
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            continue  # scalars beside the sections (`id`): not data
        out.setdefault(key.upper(), []).extend(i for i in items if isinstance(i, dict))
    if "STATUS" not in out:
        raise AnswerError("JSON answer without a STATUS section")
    return out


def parse_answer(raw: bytes, command: str) -> Answer:
    """Either format, auto-detected. Raises `AnswerError`, also when STATUS says E (error) or F (fatal)."""
    text = raw.replace(b"\x00", b"").decode("utf-8", errors="replace").strip()
    if not text:
        raise AnswerError("empty answer")
    answer = parse_json(text, command) if text[0] in "{[" else parse_pipe(text, command)
    status = answer["STATUS"][0] if answer["STATUS"] else {}
    if str(status.get("STATUS", "S")) in ("E", "F"):
        raise AnswerError(f"{command} failed: {str(status.get('Msg', 'no message'))[:120]}")
    return answer
