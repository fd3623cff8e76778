"""The text of a PDF written by fpdf2, read back without a PDF library (none is installed).

fpdf2 writes text as 2-byte glyph codes of an embedded font subset (``Identity-H``) and a
``ToUnicode`` map from those codes to letters, as the PDF specification has it; a reader (a
PDF viewer's search, a screen reader, ``pdftotext``) uses that map, and so does this. Each
``Tj`` string is one line; lines are joined with spaces, so a wrapped sentence reads whole.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}


def _streams(data: bytes) -> list[bytes]:
    out = []
    for body in _STREAM.findall(data):
        try:
            out.append(zlib.decompress(body))
        except zlib.error:
            out.append(body)  # not compressed (fpdf2 writes the ToUnicode map as is)
    return out


def _to_unicode(streams: list[bytes]) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for stream in streams:
        for section in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
            for code, text in _PAIR.findall(section):
                mapping[int(code, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
        for section in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
            for first, last, start in _RANGE.findall(section):
                for offset in range(int(last, 16) - int(first, 16) + 1):
                    mapping[int(first, 16) + offset] = chr(int(start, 16) + offset)
    return mapping


def _literal_strings(content: bytes) -> list[bytes]:
    """The ``(...)`` operands of ``Tj`` in a content stream, unescaped."""
    strings, index = [], 0
    while (start := content.find(b"(", index)) != -1:
        out, depth, index = bytearray(), 1, start + 1
        while depth:
            byte = content[index]
            if byte == 0x5C:  # backslash
                following = content[index + 1]
                if 0x30 <= following <= 0x37:
                    digits = re.match(rb"[0-7]{1,3}", content[index + 1:index + 4])
                    assert digits is not None
                    out.append(int(digits.group(), 8))
                    index += 1 + len(digits.group())
                    continue
                out += _ESCAPES.get(following, bytes([following]))
                index += 2
                continue
            depth += byte == 0x28
            depth -= byte == 0x29
            if depth:
                out.append(byte)
            index += 1
        if content[index:index + 8].lstrip().startswith(b"Tj"):
            strings.append(bytes(out))
    return strings


def pdf_text(path: Path) -> str:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-"), f"{path} is not a PDF"
    streams = _streams(data)
    mapping = _to_unicode(streams)
    lines = []
    for stream in streams:
        if b"Tj" not in stream:
            continue
        for string in _literal_strings(stream):
            codes = [int.from_bytes(string[i:i + 2], "big") for i in range(0, len(string) - 1, 2)]
            lines.append("".join(mapping.get(code, "\ufffd") for code in codes))
    return " ".join(lines)
