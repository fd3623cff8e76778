"""Read statements from files: one JSON object, a JSON array, or NDJSON, optionally gzipped.

Every statement comes back with the exact text it had in the file, because the lake keeps the
raw JSON as received. Memory stays bounded by the largest single statement, not the file:
NDJSON is read line by line, and arrays are cut into elements by an incremental decoder.
Every statement's text is judged by :func:`~xapi_ingest.xapi.decode.decode_statement`, the same
check an LRS page gets: a bad NDJSON line or array element becomes a record with a rule id and an
error (so ingest quarantines that record only). Where the input breaks off (a truncated gzip, an
array element whose end cannot be found), everything before is yielded as usual and the break
itself becomes one last record with rule ``input.truncated``. Only input that is not JSON from its
first character, or cannot be opened, raises :class:`InputError`.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, cast

from xapi_ingest.xapi.decode import MALFORMED, STDLIB_STRICT, decode_statement, value_end
from xapi_ingest.xapi.fastpath import Statement, fast_decode

_CHUNK = 1 << 20
_MAX_STATEMENT = 64 << 20  # a longer value is malformed input, not a statement
_BREAK_TEXT = 1 << 20  # how much of an unreadable rest the quarantine keeps
_WHITESPACE = " \t\r\n"
TRUNCATED = "input.truncated"
UNREADABLE_RULES = frozenset((MALFORMED, TRUNCATED))  # no statement at all, as opposed to one the lake cannot hold


class InputError(Exception):
    """The input cannot be read as statements at all (not a per-statement problem)."""


class RawRecord:
    """One statement as read: its position, exact text, and parsed value or the rule it broke.

    A statement of the fast path's subset carries its typed decode in ``fast`` and gets its
    ``value`` (the same dict the precise path decodes) only if someone asks for it, since ingest
    goes from ``fast`` straight to the lake's columns.
    """

    __slots__ = ("_value", "error", "fast", "index", "line", "raw", "rule")

    def __init__(
        self,
        index: int,
        line: int,
        raw: str,
        value: Any = None,
        error: str | None = None,
        rule: str = MALFORMED,  # the rule behind ``error``
        fast: Statement | None = None,
    ) -> None:
        self.index, self.line, self.raw, self._value = index, line, raw, value
        self.error, self.rule, self.fast = error, rule, fast

    @property
    def value(self) -> Any:
        if self._value is None and self.fast is not None:
            self._value = decode_statement(self.raw).value
        return self._value

    def _key(self) -> tuple[int, int, str, str | None, str]:
        return self.index, self.line, self.raw, self.error, self.rule

    def __eq__(self, other: object) -> bool:
        """Records are equal when they were read from the same place with the same text and verdict
        (the value follows from the text)."""
        return isinstance(other, RawRecord) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"RawRecord(index={self.index}, line={self.line}, raw={self.raw[:60]!r}, rule={self.rule!r}, error={self.error!r})"


def decoded_record(index: int, line: int, raw: str) -> RawRecord:
    """The record for one statement's text, judged by the one decode every input form shares
    (the typed fast path first, then the generic decode for what falls outside it)."""
    statement = fast_decode(raw)
    if statement is not None:
        return RawRecord(index, line, raw, fast=statement)
    verdict = decode_statement(raw)
    if verdict.rule is None:
        return RawRecord(index, line, raw, verdict.value)
    where = f"line {line}: " if line else ""
    return RawRecord(index, line, raw, error=where + verdict.message, rule=verdict.rule)


class _Broken(Exception):
    """The input breaks off at ``line``; ``rest`` is what could not be read as statements."""

    def __init__(self, line: int, rest: str, reason: str) -> None:
        super().__init__(reason)
        self.line, self.rest = line, rest


def open_text(path: Path) -> IO[str]:
    """Open a file as UTF-8 text, transparently un-gzipping by content, not by name."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    magic = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if magic == b"\x1f\x8b" else raw
    return io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")


# What reading a file on can raise once it is open: a truncated or corrupt gzip, bad UTF-8, a failing disk.
UNREADABLE = (OSError, EOFError, UnicodeDecodeError, zlib.error)


def read_records(path: Path, name: str | None = None) -> Iterator[RawRecord]:
    """Yield every statement in ``path`` in file order, then a ``input.truncated`` record if it breaks off.
    Messages call the file ``name`` (default: ``path``): a local copy is named after what it copies."""
    name = name or str(path)
    try:
        text = open_text(path)
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc}") from exc
    index, line = 0, 0
    with text:
        try:
            for record in _read_stream(text, name):
                index, line = record.index + 1, record.line
                yield record
        except _Broken as exc:
            yield _break(index, exc.line, exc.rest, f"{name}: {exc} near line {exc.line}; nothing after it was read")
        except UNREADABLE as exc:
            yield _break(index, line + 1, "", f"{name}: cannot read on after line {line}: {exc}")


def _break(index: int, line: int, rest: str, message: str) -> RawRecord:
    return RawRecord(index, line, rest[:_BREAK_TEXT], error=message, rule=TRUNCATED)


def records_with_origin(paths: Iterable[Path]) -> Iterator[tuple[str, RawRecord]]:
    """``(origin, record)`` pairs over several files, the shape the ingestor consumes."""
    for path in paths:
        for record in read_records(path):
            yield str(path), record


def _read_stream(text: IO[str], name: str) -> Iterator[RawRecord]:
    first_line = text.readline()
    blank_lines = 0
    while first_line and not first_line.strip():
        blank_lines += 1
        first_line = text.readline()
    head = first_line.lstrip(_WHITESPACE)
    if not head:
        return
    if head[0] == "[":
        yield from _read_array(first_line + text.read(_CHUNK), text, blank_lines)
    elif head[0] == "{":
        following = [text.readline()]
        while following[-1] and not following[-1].strip():  # blank lines say nothing about the shape
            following.append(text.readline())
        if _is_whole_json(first_line) or following[-1].lstrip(_WHITESPACE).startswith("{"):
            yield from read_ndjson_lines(_chain((first_line, *following), text), lines_before=blank_lines)
        else:
            yield from _read_concatenated("".join((first_line, *following)) + text.read(_CHUNK), text, blank_lines)
    else:
        raise InputError(
            f"{name}: expected a JSON object, a JSON array or NDJSON; the input starts with {head[:20]!r}"
        )


def _is_whole_json(line: str) -> bool:
    """A complete JSON value, even one the lake then rejects (a big number, a surrogate)."""
    return decode_statement(line).rule != MALFORMED


def read_ndjson_lines(lines: Iterable[str], *, lines_before: int = 0, records_before: int = 0) -> Iterator[RawRecord]:
    """The records of NDJSON lines (each with its line break, as a text stream in ``newline=""``
    mode yields them), numbered as if ``lines_before`` lines holding ``records_before`` records
    came first: a worker process reading one slice of a file numbers its records as the whole
    file's reader would."""
    index = records_before
    line_number = lines_before
    for line in lines:
        line_number += 1
        stripped = line.strip()
        if not stripped:
            continue
        yield decoded_record(index, line_number, stripped)
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

    def next_record(self, index: int) -> RawRecord:
        """The statement at the cursor, judged by :func:`decoded_record`; its end is found by the
        standard library's incremental decoder, or by bracket matching where that one fails (too
        deep, a 5000-digit number, a syntax error inside), so one bad element is quarantined
        alone. Raises :class:`_Broken` when no end can be found in the rest of the input."""
        while True:
            try:
                _, end = STDLIB_STRICT.raw_decode(self.data, self.pos)
            except (RecursionError, ValueError) as exc:
                found = value_end(self.data, self.pos)  # a bad scalar (NaN, tru) ends at its own delimiter
                if found is None and len(self.data) - self.pos < _MAX_STATEMENT and self.more():
                    continue
                if found is None:
                    reason = "unbalanced brackets" if isinstance(exc, RecursionError) else f"malformed JSON ({exc})"
                    raise _Broken(self.line, self.data[self.pos:], reason) from None
                end = found
            if end == len(self.data) and self.more():
                continue  # a number may continue in the next chunk
            raw = self.data[self.pos:end]
            start_line = self.line
            self.line += raw.count("\n")
            self.pos = end
            return decoded_record(index, start_line, raw)


def _read_array(initial: str, text: IO[str], blank_lines: int) -> Iterator[RawRecord]:
    buffer = _Buffer(initial, text, blank_lines)
    buffer.skip_whitespace()
    buffer.pos += 1  # the opening '['
    index = 0
    if buffer.skip_whitespace() == "]":
        buffer.pos += 1
    else:
        while True:
            yield buffer.next_record(index)
            index += 1
            separator = buffer.skip_whitespace()
            if separator == "]":
                buffer.pos += 1
                break
            if separator != ",":
                found = repr(separator) if separator else "the end of the input"
                raise _Broken(buffer.line, buffer.data[buffer.pos:], f"expected ',' or ']', found {found}")
            buffer.pos += 1
            buffer.skip_whitespace()
    if buffer.skip_whitespace():
        raise _Broken(buffer.line, buffer.data[buffer.pos:], "unexpected data after the JSON array")


def _read_concatenated(initial: str, text: IO[str], blank_lines: int) -> Iterator[RawRecord]:
    """A pretty-printed object, or several objects one after another."""
    buffer = _Buffer(initial, text, blank_lines)
    index = 0
    while buffer.skip_whitespace():
        yield buffer.next_record(index)
        index += 1
