"""Find the first vector of an upsert body whose size is not the index's, decoding one vector at a time.

A body of 10,000 vectors of 4,096 floats sent to a 3-dimension index would otherwise be decoded whole
(tens of millions of Python floats) only to be refused. Here the outer object is walked by hand and each
element of ``vectors`` is decoded on its own with the C decoder, checked and dropped, so the refusal
comes at the first wrong vector and holds one vector in memory. A body that is not shaped like an
upsert is left alone: the model's validation names what is wrong with it.
"""

from __future__ import annotations

import json
import re

_DECODER = json.JSONDecoder()
_BLANKS = re.compile(r"[ \t\n\r]*")


def first_wrong_size(raw: bytes, dimensions: int) -> tuple[int, int] | None:
    """The (position, size) of the first vector whose ``values`` do not have ``dimensions`` numbers.

    None when every vector fits, or when the body is not JSON shaped like ``{"vectors": [...]}``.
    """
    try:
        return _scan_object(raw.decode(), dimensions)
    except (UnicodeDecodeError, ValueError, IndexError):
        return None


def _skip(text: str, pos: int) -> int:
    match = _BLANKS.match(text, pos)
    return match.end() if match else pos


def _scan_object(text: str, dimensions: int) -> tuple[int, int] | None:
    pos = _skip(text, 0)
    if text[pos] != "{":
        return None
    pos = _skip(text, pos + 1)
    while text[pos] != "}":
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] != ":":
            return None
        pos = _skip(text, pos + 1)
        if key == "vectors" and text[pos] == "[":
            return _scan_vectors(text, _skip(text, pos + 1), dimensions)
        _value, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return None


def _scan_vectors(text: str, pos: int, dimensions: int) -> tuple[int, int] | None:
    position = 0
    while text[pos] != "]":
        record, pos = _DECODER.raw_decode(text, pos)
        values = record.get("values") if isinstance(record, dict) else None
        if isinstance(values, list) and len(values) != dimensions:
            return position, len(values)
        position += 1
        pos = _skip(text, pos)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return None
