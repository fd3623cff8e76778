"""Kind ``files`` on a real S3-compatible server (moto in server mode on 127.0.0.1): a prefix pulled
incrementally, with the lake's URI style and AWS_* credentials."""

from __future__ import annotations

from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tests.pull.files_support import encode, ids, quarantine
from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.files import FilesSource, load_files_state, pull_files
from xapi_ingest.pull.summary import NO_BUDGET, PullSummary
from xapi_ingest.xapi.samples import realistic_statements

pytestmark = pytest.mark.integration  # real processes: see [tool.pytest.ini_options] markers

STATEMENTS = list(realistic_statements(12))


def _put(fs: pafs.FileSystem, path: str, data: bytes) -> None:
    with fs.open_output_stream(path, compression=None) as out:  # a .gz name must not be compressed twice
        out.write(data)


def _pull(location: str, lake: Lake) -> PullSummary:
    source = FilesSource(id="s3-drop", location=location, settle_seconds=0)
    return pull_files(source, lake, NO_BUDGET, None)


def test_an_s3_prefix_is_pulled_once_per_file_and_content(tmp_path: Path, s3_uri: str) -> None:
    location = s3_uri.replace("/lake?", "/drops/openedx?")  # the session's bucket, another prefix
    fs, _ = pafs.FileSystem.from_uri(s3_uri)
    bucket = s3_uri.split("/")[2]
    lake = Lake(tmp_path / "lake")  # the lake may live elsewhere than the drop

    empty = _pull(location, lake)  # a prefix nothing has landed under yet is empty, not an error
    assert empty.files is not None and (empty.files.read, empty.counts.read) == (0, 0)

    _put(fs, f"{bucket}/drops/openedx/a.ndjson", encode(STATEMENTS[:4], "ndjson"))
    _put(fs, f"{bucket}/drops/openedx/2026-10/b.json.gz", encode(STATEMENTS[4:8], "gzip"))
    _put(fs, f"{bucket}/drops/openedx/c.json", b"<html>oops</html>")
    _put(fs, f"{bucket}/drops/other/d.ndjson", encode(STATEMENTS[8:], "ndjson"))  # another prefix: not ours
    first = _pull(location, lake)
    assert first.files is not None and (first.files.read, first.files.skipped, first.files.failed) == (3, 0, [])
    assert (first.counts.valid, first.counts.quarantined) == (8, 1)
    assert ids(lake) == sorted(s["id"] for s in STATEMENTS[:8])
    assert [origin for origin, _, _ in quarantine(lake)] == [f"s3://{bucket}/drops/openedx/c.json"]
    assert sorted(load_files_state(lake, "s3-drop").files) == ["2026-10/b.json.gz", "a.ndjson", "c.json"]

    again = _pull(location, lake)
    assert again.files is not None and (again.files.read, again.files.skipped) == (0, 3)

    _put(fs, f"{bucket}/drops/openedx/c.json", encode(STATEMENTS[8:], "array"))  # fixed, same name
    fixed = _pull(location, lake)
    assert fixed.files is not None and fixed.files.read == 1 and fixed.counts.valid == 4
    assert ids(lake) == sorted(s["id"] for s in STATEMENTS)
