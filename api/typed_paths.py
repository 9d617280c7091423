"""Typed path segments answer INVALID_REQUEST, not NOT_FOUND: `/workers/abc` names no route (the router only
matches `{worker_id:int}` with digits), but the caller's mistake is a wrong type, so the error says which
parameter must be an integer (issue 8: every bad input is INVALID_REQUEST with `details`).

`learn(app)` (a startup hook) reads the app's routes with int segments; `mistyped(path)` names the
parameters a path got wrong, or returns None when no route has that shape.
"""

from __future__ import annotations

import re

from litestar import Litestar

_SEGMENT = re.compile(r"\{(\w+):(\w+)\}")
_ROUTES: list[tuple[re.Pattern[str], list[str]]] = []


def learn(app: Litestar) -> None:
    found = []
    for route in app.routes:
        path = str(route.path)
        ints = [name for name, kind in _SEGMENT.findall(path) if kind == "int"]
        if ints:
            parts = _SEGMENT.split(path)  # literal, name, kind, literal, name, kind, ..., literal
            pattern = "".join(re.escape(part) if i % 3 == 0 else (f"(?P<{part}>[^/]+)" if i % 3 == 1 else "")
                              for i, part in enumerate(parts))
            found.append((re.compile(f"^{pattern}/?$"), ints))
    _ROUTES[:] = found


def mistyped(path: str) -> list[str] | None:
    """The int parameters `path` fills with something else, for the first route of that shape."""
    for pattern, ints in _ROUTES:
        match = pattern.match(path)
        if match:
            wrong = [name for name in ints if not re.fullmatch(r"-?\d+", match.group(name))]
            if wrong:
                return wrong
    return None
