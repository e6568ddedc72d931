"""JSON request bodies for the project's HTTP services (feedback, serving): one parser.

Whatever the Content-Type says, the body must be a JSON object that validates against the
route's pydantic model, with every string valid Unicode (no lone surrogate, which could not
be stored or sent back as UTF-8). Every refusal is an HTTPException with a one-line reason,
never a 500.
"""
from __future__ import annotations

import json
import re
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, ValidationError

SURROGATE = re.compile("[\ud800-\udfff]")
JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
BRACKET = re.compile(rb"[\[\]{}]")


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, without parsing it."""
    depth = deepest = 0
    for bracket in BRACKET.findall(JSON_STRING.sub(b"", raw)):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def describe(errors: list[dict]) -> str:
    """Pydantic errors as one readable line: 'decisions.0.label: Field required; ...'."""
    return "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()) if x != 'body') or 'body'}: "
                     f"{e.get('msg')}" for e in errors)


def lone_surrogate(data: Any) -> str | None:
    """Where a string (or key) holding a lone surrogate is in validated data, e.g.
    'decisions.3.text' ('body' at the top); None when there is none."""
    todo = [(data, "")]
    while todo:
        value, where = todo.pop()
        if isinstance(value, str):
            if SURROGATE.search(value):
                return where.encode("utf-8", "backslashreplace").decode() or "body"
        elif isinstance(value, dict):
            todo.extend((x, f"{where}.{k}".lstrip(".")) for k, v in value.items() for x in (k, v))
        elif isinstance(value, (list, tuple)):
            todo.extend((v, f"{where}.{i}".lstrip(".")) for i, v in enumerate(value))
    return None


def parse_json(raw: bytes, model: type[BaseModel], *, max_depth: int | None = None,
               depth_setting: str = "", too_deep_status: int = 422) -> BaseModel:
    """`raw` validated against `model`. Deeper than `max_depth` (named by `depth_setting`):
    422 before parsing; deeper than Python's parser goes: `too_deep_status`; bad JSON or
    UTF-8: 400; not an object, invalid fields or a lone surrogate: 422."""
    if max_depth is not None and json_depth(raw) > max_depth:
        raise HTTPException(422, f"JSON nested deeper than {depth_setting or 'allowed'} "
                                 f"({max_depth})")
    try:
        data = json.loads(raw)
    except RecursionError:
        raise HTTPException(too_deep_status, "malformed JSON body: nested too deeply") from None
    except ValueError as exc:    # bad JSON or UTF-8, or an integer of over 4300 digits
        raise HTTPException(400, f"malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise HTTPException(422, "the body must be a JSON object")
    try:
        body = model.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(422, describe(exc.errors())) from None
    where = lone_surrogate(body.model_dump())
    if where is not None:
        raise HTTPException(422, f"{where}: not valid Unicode (a lone surrogate such as "
                                 "\\ud800)")
    return body
