"""Property: whatever bytes land in a file drop (mutated NDJSON, arrays, gzip), the files kind raises
nothing, reads every file, accounts for every record it read, and reads nothing twice."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.pull.files_support import encode, ids, write
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.files import FilesSource, pull_files
from xapi_ingest.pull.summary import NO_BUDGET
from xapi_ingest.xapi.samples import realistic_statements

BASES = list(realistic_statements(8))
NAMES = ("a.ndjson", "b.json", "c.jsonl.gz")


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, cut out or inserted, or cut off (or left alone)."""
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        operation = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if operation == "flip" and data:
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1:]
        elif operation == "cut":
            data = data[:at] + data[at + draw(st.integers(1, 40)):]
        elif operation == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        else:
            data = data[:at]
    return data


@st.composite
def drops(draw: st.DrawFn) -> dict[str, tuple[bytes, bool]]:
    """File name -> (bytes, whether they are the untouched export)."""
    files = {}
    for name, form in zip(NAMES, ("ndjson", "array", "gzip"), strict=True):
        chosen = draw(st.lists(st.sampled_from(range(len(BASES))), max_size=5, unique=True))
        original = encode([BASES[n] for n in chosen], form)
        data = draw(mutated(original))
        files[name] = (data, data == original)
    return files


CORRUPT_DEFLATE = b"\x1f\x8b\x08\x02\x00\x00\x00\x00\x02\x03\x03" + bytes(9)  # zlib.error, not an OSError


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drops())
@example({"a.ndjson": (b"", True), "b.json": (b"[]", True), "c.jsonl.gz": (CORRUPT_DEFLATE, False)})
def test_any_bytes_in_a_drop_are_read_once_and_accounted_for(files: dict[str, tuple[bytes, bool]]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for name, (data, _) in files.items():
            write(root / "drop" / name, data)
        lake = Lake(root / "lake")
        source = FilesSource(id="drop", location=str(root / "drop"), settle_seconds=0)
        summary = pull_files(source, lake, NO_BUDGET, None)
        assert summary.files is not None and (summary.files.read, summary.files.failed) == (len(files), [])
        counts = summary.counts
        assert counts.read == counts.valid + counts.tolerated + counts.quarantined + counts.duplicates + counts.conflicts
        with connect(lake) as con:
            written = con.execute("SELECT count(*) FROM statements").fetchone()[0]
            quarantined = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
        assert written == counts.valid + counts.tolerated
        assert quarantined == counts.quarantined + counts.conflicts
        intact = {BASES[n]["id"] for n in range(len(BASES)) for data, untouched in files.values()
                  if untouched and BASES[n]["id"].encode() in data}
        assert intact <= set(ids(lake))  # an untouched file loses nothing, whatever its neighbours hold
        again = pull_files(source, lake, NO_BUDGET, None)
        assert again.counts.read == 0 and again.files is not None and again.files.skipped == len(files)
