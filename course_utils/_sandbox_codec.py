"""Plain data across the sandbox wall: the only values the candidate's process may send back.

This file is also copied into each candidate's working directory and run there, so it imports nothing
outside the standard library. A value is encoded as JSON: ``None``, booleans, integers, floats, strings
and lists as themselves, every other kind as a one-key object (``{"tuple": [...]}``, ``{"dict": [[k, v],
...]}``, ``{"set": [...]}``, ``{"frozenset": [...]}``, ``{"bytes": "hex"}``). Anything else (a class
instance, an object with its own ``__eq__``) cannot be encoded: the far side reports only its type name.
"""

from __future__ import annotations

MAX_DEPTH = 40
_TAGS = {"tuple": tuple, "set": set, "frozenset": frozenset}


def encode(value: object, depth: int = 0) -> object:
    """``value`` as JSON-ready data; ``TypeError`` for a type that is not plain data."""
    if depth > MAX_DEPTH:
        raise TypeError("nested deeper than the sandbox accepts")
    kind = type(value)  # exact types: a subclass of int or str may carry its own __eq__
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is list:
        return [encode(v, depth + 1) for v in value]  # type: ignore[attr-defined]
    for tag, cls in _TAGS.items():
        if kind is cls:
            return {tag: [encode(v, depth + 1) for v in value]}  # type: ignore[attr-defined]
    if kind is dict:
        return {"dict": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}  # type: ignore[attr-defined]
    if kind is bytes:
        return {"bytes": value.hex()}  # type: ignore[attr-defined]
    raise TypeError(kind.__name__)


def decode(data: object, depth: int = 0) -> object:
    """The inverse of :func:`encode`; ``ValueError`` for anything :func:`encode` would not write."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deep")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(v, depth + 1) for v in data]
    if type(data) is dict and len(data) == 1:
        ((tag, items),) = data.items()
        if tag in _TAGS and type(items) is list:
            return _TAGS[tag](decode(v, depth + 1) for v in items)
        if tag == "dict" and type(items) is list and all(type(p) is list and len(p) == 2 for p in items):
            return {decode(k, depth + 1): decode(v, depth + 1) for k, v in items}
        if tag == "bytes" and type(items) is str:
            return bytes.fromhex(items)
    raise ValueError(f"not sandbox data: {str(data)[:60]}")
