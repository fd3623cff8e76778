"""The one decision of whether a statement's text is JSON the lake can hold.

Every input form (an NDJSON line, an array element, a single object, a gzipped file, one
statement of an LRS page) reaches the lake through :func:`decode_statement`, so a statement gets
the same verdict whichever way it arrives. Besides malformed JSON it rejects, each under its own
rule id, what would otherwise crash a writer further down or make the verdict depend on the
caller: integers outside int64 and numbers beyond a double (``1e400``), unpaired UTF-16
surrogates (``"\\ud800"``, which no UTF-8 writer can encode), and nesting deeper than
:data:`MAX_DEPTH` (Python's own limit depends on how deep the caller's stack already is).

The checks cost a few microseconds per KB: the full walk of the decoded value runs only when a
byte-level pre-check says it may find something (enough brackets, or a 19-digit number).
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec

MAX_DEPTH = 64  # an xAPI statement nests 6-8 levels; extensions get the rest
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

MALFORMED = "json.malformed"
NUMBER_RANGE = "json.number-range"
SURROGATE = "json.surrogate"
TOO_DEEP = "json.depth"

_decoder = msgspec.json.Decoder()
# One byte-level pass shapes the text for both pre-checks: brackets become '(' (counted for the
# depth), digits '0', and what may precede a number token (':', ',', white space, '-') '#'.
# |n| >= 2**63 needs 19 digits in a row; digit runs inside strings (ids, hashes) mostly follow
# other characters, so they rarely trigger the walk.
_SHAPE = bytes.maketrans(b"[{123456789:, \t\r\n-", b"((000000000#######")
_LONG_NUMBER_AFTER = (b"#" + b"0" * 19, b"(" + b"0" * 19)


class Verdict(msgspec.Struct, frozen=True):
    """A decoded value, or the rule it breaks and why (``rule`` is ``None`` when it decoded)."""

    value: Any = None
    rule: str | None = None
    message: str = ""


def decode_statement(raw: str) -> Verdict:
    """Decode one statement's text, rejecting what the lake cannot hold; never raises."""
    data = raw.encode("utf-8", "surrogatepass")  # byte-level checks are several times faster than str ones
    try:
        value = _decoder.decode(data)
    except RecursionError:
        return Verdict(None, TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels")
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: catch it first
        return Verdict(None, NUMBER_RANGE, f"a number out of range ({exc})")
    except msgspec.DecodeError as exc:
        return _classify_failure(raw, exc)
    check_depth, check_ints = walk_needed(data)
    if check_depth or check_ints:
        rule = _walk(value, check_depth, check_ints)
        if rule == TOO_DEEP:
            return Verdict(None, TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels")
        if rule == NUMBER_RANGE:
            return Verdict(None, NUMBER_RANGE, "an integer outside the 64-bit range")
    return Verdict(value)


def walk_needed(data: bytes) -> tuple[bool, bool]:
    """Whether the text may nest too deep, and whether it may hold an integer outside int64.

    A "no" is certain, a "yes" only possible; the typed fast path sends every "yes" to :func:`decode_statement`.
    """
    shape = data.translate(_SHAPE)
    return shape.count(b"(") > MAX_DEPTH, _LONG_NUMBER_AFTER[0] in shape or _LONG_NUMBER_AFTER[1] in shape


def _classify_failure(raw: str, exc: msgspec.DecodeError) -> Verdict:
    """msgspec reports an unpaired surrogate as generic (even 'truncated') malformed JSON.

    Only on this failure path: if the standard library (which tolerates surrogates but not NaN
    or Infinity) reads the text, the one thing msgspec objected to was a surrogate.
    """
    try:
        STDLIB_STRICT.decode(raw)
    except RecursionError:
        return Verdict(None, TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels")
    except ValueError:
        return Verdict(None, MALFORMED, str(exc))
    return Verdict(None, SURROGATE, "a string holds an unpaired UTF-16 surrogate escape")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


# The standard library's decoder without NaN/Infinity: it finds where a value ends in a stream
# (``raw_decode``) and, unlike msgspec, tolerates unpaired surrogates.
STDLIB_STRICT = json.JSONDecoder(parse_constant=_reject_constant)


def _walk(value: Any, check_depth: bool, check_ints: bool) -> str | None:
    """Depth and integer range of a decoded value, iteratively (no recursion to run out of)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        kind = type(item)
        if kind is dict:
            item = item.values()
        elif kind is not list:
            if check_ints and kind is int and not INT64_MIN <= item <= INT64_MAX:
                return NUMBER_RANGE
            continue
        if check_depth and depth > MAX_DEPTH:
            return TOO_DEEP
        for child in item:
            child_kind = type(child)
            if child_kind is dict or child_kind is list or child_kind is int:
                push((child, depth + 1))
    return None


# A string (its closing quote captured, so an unterminated one is recognisable) or a bracket.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(")?|[\[\]{}]', re.S)
_CLOSERS = {"]": "[", "}": "{"}


def container_end(text: str, pos: int) -> int | None:
    """End of the array or object starting at ``text[pos]``, found by bracket matching alone.

    Used where a full parser cannot follow (nesting deeper than its recursion allows, a string
    it refuses): finds the boundary so that one element, not the whole input, is rejected.
    Returns ``None`` when the brackets do not close within ``text``.
    """
    opened: list[str] = []
    for match in _STRUCTURE.finditer(text, pos):
        token = match.group()
        if token[0] == '"':
            if match.group(1) is None:
                return None
            continue
        if token in "[{":
            opened.append(token)
        elif not opened or opened.pop() != _CLOSERS[token]:
            return None
        if not opened:
            return match.end()
    return None


_SCALAR = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[^\s,:\]}]+', re.S)
_SPACE = re.compile(r"[ \t\r\n]*")


def _skip_space(text: str, pos: int) -> int:
    return _SPACE.match(text, pos).end()  # type: ignore[union-attr]  # matches the empty string


def value_end(text: str, pos: int) -> int | None:
    if text[pos:pos + 1] in ("[", "{"):
        return container_end(text, pos)
    match = _SCALAR.match(text, pos)
    return match.end() if match else None


def split_array(text: str, pos: int) -> tuple[list[tuple[int, int]], int] | None:
    """The ``(start, end)`` of each element of the array at ``text[pos]`` and the array's end,
    by :func:`container_end` (so an element no parser accepts still gets its own span), or
    ``None`` when the array's structure cannot be followed."""
    if text[pos:pos + 1] != "[":
        return None
    spans: list[tuple[int, int]] = []
    pos = _skip_space(text, pos + 1)
    if text.startswith("]", pos):
        return spans, pos + 1
    while (end := value_end(text, pos)) is not None:
        spans.append((pos, end))
        pos = _skip_space(text, end)
        if text.startswith("]", pos):
            return spans, pos + 1
        if not text.startswith(",", pos):
            return None
        pos = _skip_space(text, pos + 1)
    return None


def split_object(text: str) -> dict[str, tuple[int, int]] | None:
    """The ``(start, end)`` of each member value of the object that is the whole of ``text``,
    found the same tolerant way as :func:`split_array`; ``None`` if it is not such an object."""
    pos = _skip_space(text, 0)
    if text[pos:pos + 1] != "{" or container_end(text, pos) is None:
        return None
    members: dict[str, tuple[int, int]] = {}
    pos = _skip_space(text, pos + 1)
    while not text.startswith("}", pos):
        key = _SCALAR.match(text, pos)
        if key is None or not key.group().startswith('"'):
            return None
        pos = _skip_space(text, key.end())
        if not text.startswith(":", pos):
            return None
        start = _skip_space(text, pos + 1)
        end = value_end(text, start)
        if end is None:
            return None
        try:
            members[json.loads(key.group())] = (start, end)
        except ValueError:
            return None
        pos = _skip_space(text, end)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
        elif not text.startswith("}", pos):
            return None
    return members if _skip_space(text, pos + 1) == len(text) else None
