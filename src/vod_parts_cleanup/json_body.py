"""A body that must hold one JSON object: read safely, or refused with a clear reason.

Shared by the HTTP route (which checks only this before handing a body off, and must not
import pydantic on its cold start) and intake (which then reads the notification in it).
"""

import json
from typing import Any

MAX_JSON_DEPTH = 32
# The error code of a body that is not one JSON object.
MALFORMED_EVENT = "MalformedEvent"


class MalformedEventError(ValueError):
    """The event body is not a JSON object, so nothing in it can be trusted or cleaned."""


def decode_json_object(text: str | None) -> dict[str, Any]:
    """Parse a message or request body that must hold one JSON object (nested at most
    ``MAX_JSON_DEPTH`` deep: a VOD notification is flat, and deep nesting exhausts the parser)."""
    if not isinstance(text, str) or not text.strip():
        msg = "the body is empty"
        raise MalformedEventError(msg)
    if _nesting_depth(text) > MAX_JSON_DEPTH:
        msg = f"the body nests deeper than {MAX_JSON_DEPTH} levels"
        raise MalformedEventError(msg)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        msg = "the body is not valid JSON"
        raise MalformedEventError(msg) from None
    if not isinstance(document, dict):
        msg = f"the body is a JSON {type(document).__name__}, not an object"
        raise MalformedEventError(msg)
    return document


def _nesting_depth(text: str) -> int:
    """How deep brackets nest outside JSON strings, found without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest
