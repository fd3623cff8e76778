"""Read statements from files: one JSON object, a JSON array, or NDJSON, optionally gzipped.

Every statement comes back with the exact text it had in the file, because the lake keeps the
raw JSON as received. Memory stays bounded by the largest single statement, not the file:
NDJSON is read line by line, and arrays are cut into elements by an incremental decoder.
A malformed NDJSON line becomes a record with an error (so ingest quarantines that line only);
input whose structure cannot be followed at all raises :class:`InputError`.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import msgspec

_CHUNK = 1 << 20
_MAX_STATEMENT = 64 << 20  # a longer value is malformed input, not a statement
_WHITESPACE = " \t\r\n"
_decode = msgspec.json.decode


class InputError(Exception):
    """The input cannot be read as statements at all (not a per-statement problem)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One statement as read: its position, exact text, and parsed value or parse error."""

    index: int
    line: int
    raw: str
    value: Any = None
    error: str | None = None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


_strict_decoder = json.JSONDecoder(parse_constant=_reject_constant)


def open_text(path: Path) -> IO[str]:
    """Open a file as UTF-8 text, transparently un-gzipping by content, not by name."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    magic = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if magic == b"\x1f\x8b" else raw
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


def read_records(path: Path) -> Iterator[RawRecord]:
    """Yield every statement in ``path`` in file order."""
    try:
        with open_text(path) as text:
            yield from _read_stream(text, path)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc


def records_with_origin(paths: Iterable[Path]) -> Iterator[tuple[str, RawRecord]]:
    """``(origin, record)`` pairs over several files, the shape the ingestor consumes."""
    for path in paths:
        for record in read_records(path):
            yield str(path), record


def _read_stream(text: IO[str], path: Path) -> Iterator[RawRecord]:
    first_line = text.readline()
    blank_lines = 0
    while first_line and not first_line.strip():
        blank_lines += 1
        first_line = text.readline()
    head = first_line.lstrip(_WHITESPACE)
    if not head:
        return
    if head[0] == "[":
        yield from _read_array(first_line + text.read(_CHUNK), text, path, blank_lines)
    elif head[0] == "{":
        second_line = text.readline()
        start = first_line + second_line
        if _is_whole_json(first_line) or second_line.lstrip(_WHITESPACE).startswith("{"):
            yield from _read_ndjson(_chain((first_line, second_line), text), blank_lines)
        else:
            yield from _read_concatenated(start + text.read(_CHUNK), text, path, blank_lines)
    else:
        raise InputError(
            f"{path}: expected a JSON object, a JSON array or NDJSON; the input starts with {head[:20]!r}"
        )


def _is_whole_json(line: str) -> bool:
    try:
        _decode(line)
    except msgspec.DecodeError:
        return False
    return True


def _read_ndjson(lines: Iterator[str], blank_lines: int) -> Iterator[RawRecord]:
    index = 0
    line_number = blank_lines
    for line in lines:
        line_number += 1
        stripped = line.strip()
        if not stripped:
            continue
        try:
            yield RawRecord(index, line_number, stripped, _decode(stripped))
        except msgspec.DecodeError as exc:
            yield RawRecord(index, line_number, stripped, error=f"line {line_number}: {exc}")
        index += 1


def _chain(first: tuple[str, ...], rest: IO[str]) -> Iterator[str]:
    yield from first
    yield from rest


class _Buffer:
    """A sliding window over the text, so arrays of any size are read in bounded memory."""

    def __init__(self, initial: str, text: IO[str], blank_lines: int) -> None:
        self.data = initial
        self.pos = 0
        self.line = 1 + blank_lines
        self.text = text
        self.eof = False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.text.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.data = self.data[self.pos:] + chunk
        self.pos = 0
        return True

    def skip_whitespace(self) -> str:
        """Move past white space and return the next character ('' at the end of input)."""
        while True:
            data, pos = self.data, self.pos
            while pos < len(data) and data[pos] in _WHITESPACE:
                pos += 1
            self.line += data.count("\n", self.pos, pos)
            self.pos = pos
            if pos < len(data):
                return data[pos]
            if not self.more():
                return ""

    def decode_value(self, path: Path) -> tuple[Any, str, int]:
        """Decode the JSON value at the cursor; returns (value, exact text, start line)."""
        while True:
            try:
                value, end = _strict_decoder.raw_decode(self.data, self.pos)
            except ValueError as exc:
                if len(self.data) - self.pos < _MAX_STATEMENT and self.more():
                    continue
                raise InputError(f"{path}: malformed JSON near line {self.line}: {exc}") from exc
            if end == len(self.data) and self.more():
                continue  # a number may continue in the next chunk
            raw = self.data[self.pos:end]
            start_line = self.line
            self.line += raw.count("\n")
            self.pos = end
            return value, raw, start_line


def _read_array(initial: str, text: IO[str], path: Path, blank_lines: int) -> Iterator[RawRecord]:
    buffer = _Buffer(initial, text, blank_lines)
    buffer.skip_whitespace()
    buffer.pos += 1  # the opening '['
    index = 0
    if buffer.skip_whitespace() == "]":
        buffer.pos += 1
    else:
        while True:
            value, raw, line = buffer.decode_value(path)
            yield RawRecord(index, line, raw, value)
            index += 1
            separator = buffer.skip_whitespace()
            buffer.pos += 1
            if separator == "]":
                break
            if separator != ",":
                raise InputError(f"{path}: expected ',' or ']' near line {buffer.line}, found {separator!r}")
            buffer.skip_whitespace()
    if buffer.skip_whitespace():
        raise InputError(f"{path}: unexpected data after the JSON array near line {buffer.line}")


def _read_concatenated(
    initial: str, text: IO[str], path: Path, blank_lines: int
) -> Iterator[RawRecord]:
    """A pretty-printed object, or several objects one after another."""
    buffer = _Buffer(initial, text, blank_lines)
    index = 0
    while buffer.skip_whitespace():
        value, raw, line = buffer.decode_value(path)
        yield RawRecord(index, line, raw, value)
        index += 1
