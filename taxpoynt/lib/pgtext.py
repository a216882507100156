"""Text PostgreSQL cannot hold: NUL (text and jsonb refuse U+0000) and lone surrogates (they have
no UTF-8 form, so neither the driver nor jsonb accept them)."""

import json
import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A path past this is cut in the middle: a deep document must not make a huge message.
_PATH_SHOWN_CHARS = 120


def text_problem(text: str) -> str | None:
    """The first character of ``text`` PostgreSQL cannot store, named ("NUL", "lone surrogate
    U+D800"), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    character = found.group()
    return "NUL" if character == "\x00" else f"lone surrogate U+{ord(character):04X}"


def json_problem(document: object) -> str | None:
    """The first string (key or value) of a decoded JSON document that PostgreSQL cannot store,
    with its JSONPath ("NUL at $.data.note", "lone surrogate U+DC00 in the key $.a["x\\udc00"]"),
    or None. Walked with a stack, not recursion, and a node's path is spelled out only for the
    string found: any document json.loads returns costs time and memory in its size alone."""
    # Each entry: (value, is_key, path) where a path is None for the root or (parent path, step).
    pending: list[tuple[object, bool, tuple | None]] = [(document, False, None)]
    while pending:
        value, is_key, path = pending.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                return f"{problem} {'in the key' if is_key else 'at'} {_spelled(path)}"
        elif isinstance(value, dict):
            for key, child in reversed(list(value.items())):
                member = (path, key)
                pending.append((child, False, member))
                pending.append((key, True, member))
        elif isinstance(value, list):
            pending.extend(
                (child, False, (path, index)) for index, child in reversed(list(enumerate(value)))
            )
    return None


def storable(text: str) -> str:
    """``text`` with each character PostgreSQL cannot store written as its JSON escape (\\u0000,
    \\ud800): for messages and headers that quote what a sender sent."""
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _spelled(path: tuple | None) -> str:
    steps = []
    while path is not None:
        path, step = path
        steps.append(step)
    spelled = "$" + "".join(_step(step) for step in reversed(steps))
    if len(spelled) <= _PATH_SHOWN_CHARS:
        return spelled
    half = _PATH_SHOWN_CHARS // 2
    return f"{spelled[:half]}...{spelled[-half:]}"


def _step(step: str | int) -> str:
    if isinstance(step, int):
        return f"[{step}]"
    if _PLAIN_KEY.fullmatch(step):
        return f".{step}"
    # json.dumps escapes every non-ASCII character: the path itself is always storable.
    return f"[{json.dumps(step)}]"
