"""Kind ``files``: a folder of LMS exports pulled incrementally, each file once by path and content hash."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.pull.files_support import encode, ids, quarantine, write
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.files import FilesSource, load_files_state, pull_files
from xapi_ingest.pull.summary import NO_BUDGET, Budget, PullSummary
from xapi_ingest.xapi.samples import realistic_statements

STATEMENTS = list(realistic_statements(20))


def _pull(source: FilesSource, lake: Lake, budget: Budget = NO_BUDGET) -> PullSummary:
    return pull_files(source, lake, budget, None)


def _source(folder: Path, **options: object) -> FilesSource:
    return FilesSource.model_validate({"id": "lms-drop", "kind": "files", "location": str(folder),
                                       "settle_seconds": 0, **options})


def _files(summary: PullSummary) -> tuple[int, int, int]:
    assert summary.files is not None
    return summary.files.read, summary.files.skipped, len(summary.files.failed)


def test_ndjson_arrays_and_gzip_land_once(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    write(drop / "a.ndjson", encode(STATEMENTS[:5], "ndjson"))
    write(drop / "2026" / "10" / "b.json", encode(STATEMENTS[5:9], "array"))  # a dated sub-folder
    write(drop / "c.jsonl.gz", encode(STATEMENTS[9:12], "gzip"))
    write(drop / "notes.txt", b"not an export")  # matches no pattern
    write(drop / "d.json.partial", encode(STATEMENTS[12:], "ndjson"))  # still being uploaded under another name
    lake = Lake(tmp_path / "lake")

    first = _pull(_source(drop), lake)
    assert _files(first) == (3, 0, 0)
    assert (first.counts.read, first.counts.valid, first.counts.quarantined) == (12, 12, 0)
    assert ids(lake) == sorted(s["id"] for s in STATEMENTS[:12])
    state = load_files_state(lake, "lms-drop")
    assert sorted(state.files) == ["2026/10/b.json", "a.ndjson", "c.jsonl.gz"]
    assert state.files["c.jsonl.gz"].sha256 == hashlib.sha256((drop / "c.jsonl.gz").read_bytes()).hexdigest()

    again = _pull(_source(drop), lake)
    assert _files(again) == (0, 3, 0) and again.counts.read == 0
    assert "files" not in PullSummary("lrs-only").as_dict()  # an LRS's summary is as it was
    assert again.as_dict()["files"] == {"read": 0, "skipped": 3, "failed": []}

    (drop / "a.ndjson").rename(tmp_path / "archived.ndjson")  # taken files moved to an archive are forgotten
    write(drop / "e.ndjson", encode(STATEMENTS[12:], "ndjson"))
    assert _files(_pull(_source(drop), lake)) == (1, 2, 0)
    assert sorted(load_files_state(lake, "lms-drop").files) == ["2026/10/b.json", "c.jsonl.gz", "e.ndjson"]


def test_a_re_exported_file_is_read_again_and_upserts_without_duplicates(tmp_path: Path) -> None:
    drop, lake = tmp_path / "drop", Lake(tmp_path / "lake")
    export = write(drop / "export.ndjson", encode(STATEMENTS[:5], "ndjson"))
    other = write(drop / "other.json", encode(STATEMENTS[5:8], "array"))
    _pull(_source(drop), lake)

    write(export, encode(STATEMENTS[:5] + STATEMENTS[10:12], "ndjson"))  # re-exported with two more statements
    os.utime(export, ns=(1_700_000_000_000_000_000,) * 2)  # a past mtime no run could have recorded
    stat = other.stat()
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns - 1_000_000_000))  # touched, same bytes
    second = _pull(_source(drop), lake)
    assert _files(second) == (1, 1, 0)
    assert (second.counts.read, second.counts.valid, second.counts.duplicates) == (7, 2, 5)
    assert ids(lake) == sorted(s["id"] for s in STATEMENTS[:8] + STATEMENTS[10:12])  # one row per statement
    assert load_files_state(lake, "lms-drop").files["other.json"].mtime_ns == other.stat().st_mtime_ns
    assert _files(_pull(_source(drop), lake)) == (0, 2, 0)  # the touched file is not hashed again either


def test_bad_files_are_quarantined_with_their_reason_and_the_rest_land(tmp_path: Path) -> None:
    drop, lake = tmp_path / "drop", Lake(tmp_path / "lake")
    write(drop / "a-good.ndjson", encode(STATEMENTS[:4], "ndjson"))
    write(drop / "b-not-json.json", b"<html>503 Service Unavailable</html>")
    write(drop / "c-corrupt.json.gz", encode(STATEMENTS[4:8], "gzip")[:-30])  # cut off mid-stream
    half = encode(STATEMENTS[8:10], "ndjson") + b'{"id": "broken\n' + encode(STATEMENTS[10:11], "ndjson")
    write(drop / "d-half.ndjson", half)
    write(drop / "e-binary.json", bytes(range(256)))
    write(drop / "f-bad-deflate.json.gz", b"\x1f\x8b\x08\x02\x00\x00\x00\x00\x02\x03\x03" + bytes(9))  # zlib.error

    summary = _pull(_source(drop), lake)
    assert _files(summary) == (6, 0, 0)  # read, if only to quarantine: none failed
    counts = summary.counts
    assert counts.read == counts.valid + counts.quarantined and counts.quarantined >= 4
    landed = set(ids(lake))
    assert {s["id"] for s in STATEMENTS[:4] + STATEMENTS[8:11]} <= landed
    reasons = {Path(origin).name: (rules, message) for origin, rules, message in quarantine(lake)}
    assert reasons["b-not-json.json"][0] == ["json.malformed"]
    assert "b-not-json.json: expected a JSON object, a JSON array or NDJSON" in reasons["b-not-json.json"][1]
    assert str(tmp_path / "drop") in reasons["b-not-json.json"][1]  # named as dropped, not as the scratch copy
    assert reasons["c-corrupt.json.gz"][0] == ["input.truncated"]
    assert reasons["d-half.ndjson"][0] == ["json.malformed"]
    assert "e-binary.json" in reasons
    assert reasons["f-bad-deflate.json.gz"][0] == ["input.truncated"]
    assert "invalid stored block lengths" in reasons["f-bad-deflate.json.gz"][1]

    write(drop / "b-not-json.json", encode(STATEMENTS[12:15], "ndjson"))  # the platform fixes its export
    fixed = _pull(_source(drop), lake)
    assert _files(fixed) == (1, 5, 0) and fixed.counts.valid == 3
    assert {s["id"] for s in STATEMENTS[12:15]} <= set(ids(lake))


def test_the_state_moves_only_after_a_files_statements_are_committed(tmp_path: Path, monkeypatch) -> None:
    """A storage fault on the second file's commit: the first file is in the lake and in the state, the
    second in neither, and the next run takes the rest with nothing lost and nothing twice."""
    drop, lake = tmp_path / "drop", Lake(tmp_path / "lake")
    for n in range(3):
        write(drop / f"{n}.ndjson", encode(STATEMENTS[4 * n:4 * n + 4], "ndjson"))
    real_write = lake.write_statements
    calls: list[str] = []

    def disk_full_on_the_second_commit(*args, **kwargs):
        calls.append("commit")
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(lake, "write_statements", disk_full_on_the_second_commit)
    with pytest.raises(OSError, match="No space left"):
        _pull(_source(drop), lake)
    assert sorted(load_files_state(lake, "lms-drop").files) == ["0.ndjson"]
    assert ids(lake) == sorted(s["id"] for s in STATEMENTS[:4])

    monkeypatch.undo()
    rerun = _pull(_source(drop), lake)
    assert _files(rerun) == (2, 1, 0) and rerun.counts.valid == 8
    assert ids(lake) == sorted(s["id"] for s in STATEMENTS[:12])


def test_the_budget_stops_between_files_and_young_files_wait(tmp_path: Path) -> None:
    drop, lake = tmp_path / "drop", Lake(tmp_path / "lake")
    for n in range(3):
        write(drop / f"{n}.ndjson", encode(STATEMENTS[4 * n:4 * n + 4], "ndjson"))
    young = _pull(_source(drop, settle_seconds=3600), lake)  # every file was modified within the hour
    assert _files(young) == (0, 3, 0) and ids(lake) == []

    first = _pull(_source(drop), lake, Budget(max_pages=2))  # a file counts as a page
    assert _files(first) == (2, 0, 0) and first.backlog_remaining
    rest = _pull(_source(drop), lake, Budget(max_pages=2))
    assert _files(rest) == (1, 2, 0) and not rest.backlog_remaining
    assert ids(lake) == sorted(s["id"] for s in STATEMENTS[:12])


def test_a_missing_folder_fails_the_source_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _pull(_source(tmp_path / "no-such-folder"), Lake(tmp_path / "lake"))
