"""The data-quality gate with real Great Expectations over real lakes on disk."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import delete, insert

from xapi_ingest.app.cli.main import main
from xapi_ingest.lake import ledger
from xapi_ingest.lake.holds import BatchHolds, BatchInventory
from xapi_ingest.lake.ingest import Ingestor
from xapi_ingest.lake.normalize import StatementColumns
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.store import Lake, batch_filter
from xapi_ingest.publish.privacy import Pseudonymizer, publish
from xapi_ingest.quality.gate import QualityGateError, check_batches, validate_table
from xapi_ingest.quality.suites import SuiteError, load_suite
from xapi_ingest.xapi.reader import read_records
from xapi_ingest.xapi.samples import realistic_statements

KEY = Pseudonymizer(b"quality-test-key-0123456789")
# The sample statements are all stored on 2026-09-01: a day later they are fresh.
FRESH = datetime(2026, 9, 2, tzinfo=UTC)


def _ingest(lake: Lake, tmp_path, batch_id: str, statements, source: str = "moodle-a") -> None:
    path = tmp_path / f"{batch_id}.ndjson"
    path.write_text("".join(json.dumps(s) + "\n" for s in statements))
    Ingestor(lake, source).ingest(((str(path), r) for r in read_records(path)), batch_id=batch_id)


def _set(table: pa.Table, name: str, values: list) -> pa.Table:
    field = table.schema.field(name)
    return table.set_column(table.schema.get_field_index(name), field, pa.array(values, field.type))


def _add_batch(lake: Lake, batch_id: str, table: pa.Table) -> None:
    """Write rows as another producer (or a bug) would: straight into the restricted zone, past the id
    registry; a batch sent again replaces the earlier one."""
    table = _set(table, "batch_id", [batch_id] * table.num_rows)
    forget = delete(ledger.BATCHES).where(ledger.BATCHES.c.batch_id == batch_id)
    lake.delete("statements", batch_filter([batch_id]), [lambda connection: connection.execute(forget)])
    inventory = insert(ledger.BATCHES).values(batch_id=batch_id, source="moodle-a", rows=table.num_rows,
                                              committed_at=FRESH.isoformat())
    lake.append("statements", table, [lambda connection: connection.execute(inventory)])


def _first_batch(lake: Lake, rows: int) -> pa.Table:
    return lake.dataset("statements").to_table().slice(0, rows)


@pytest.fixture
def lake(tmp_path) -> Lake:
    """A lake holding one clean batch ``b1`` of 200 realistic statements, published without a check."""
    lake = Lake(tmp_path / "lake")
    _ingest(lake, tmp_path, "b1", realistic_statements(200))
    publish(lake, KEY, include_unchecked=True)
    return lake


def test_suite_file_loads_with_a_severity_per_check():
    suite = load_suite()
    checks = {entry["meta"]["check"]: entry["severity"] for entry in suite.entries}
    assert {"statement-id-unique", "score-scaled-in-range", "validation-status-known"} <= {
        check for check, severity in checks.items() if severity == "critical"}
    assert {"fresh-data", "verb-known", "timestamp-not-after-stored"} <= {
        check for check, severity in checks.items() if severity == "warning"}
    # GX drops an expectation it cannot build with only a log line; all of ours must survive.
    gx_suite = suite.gx_suite()
    assert len(gx_suite.expectations) == len(suite.entries)
    assert {e.severity.value for e in gx_suite.expectations} == {"critical", "warning"}


@pytest.mark.parametrize(("change", "message"), [
    (lambda doc: doc["expectations"][0].update(severity="fatal"), r"expectations\[0\]\.severity \(check statement-id-unique\)"),
    (lambda doc: doc["expectations"][1].update(type="expect_column_to_be_lovely"),
     r"expectations\[1\] \(statement-id-present\).*lovely"),
    (lambda doc: doc["expectations"][1]["meta"].update(check="statement-id-unique"), "repeated: statement-id-unique"),
])
def test_suite_errors_name_the_file_and_the_entry(tmp_path, change, message):
    document = json.loads(load_suite().path.read_text())
    change(document)
    path = tmp_path / "statements.json"
    path.write_text(json.dumps(document))
    with pytest.raises(SuiteError, match=message) as error:
        load_suite(path)
    assert str(path) in str(error.value)


def test_suite_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "statements.json"
    path.write_text('{\n  "name": "statements",\n  "expectations": [,]\n}')
    with pytest.raises(SuiteError, match=rf"{path}:3:.*not valid JSON"):
        load_suite(path)


def test_clean_batch_passes_and_writes_data_docs(lake, tmp_path):
    _ingest(lake, tmp_path, "b2", list(realistic_statements(260))[200:])
    reports = tmp_path / "reports"
    report = check_batches(lake, ["b2"], reports, run_time=FRESH)
    (batch,) = report.batches
    assert report.passed and batch.critical == [] and batch.warnings == []
    assert (batch.rows, batch.evaluated, batch.sources) == (60, len(load_suite().entries), ["moodle-a"])
    assert report.data_docs == reports / "data_docs" / "index.html" and report.data_docs.exists()
    (page,) = (reports / "data_docs" / "validations" / "statements" / "b2").rglob("*.html")
    html = page.read_text()
    assert "b2" in html and "values must be unique" in html
    recorded = json.loads(report.result_file.read_text())
    assert recorded["passed"] is True and recorded["batches"][0]["batch_id"] == "b2"
    assert BatchHolds(lake).held() == {}
    assert len(publish(lake, KEY)) == 1


def test_critical_failure_holds_the_batch_and_leaves_the_analyst_zone_unchanged(lake, tmp_path):
    table = _first_batch(lake, 50)
    scored = pc.index(pc.is_valid(table["result_score_scaled"]), True).as_py()
    bad_id = table["statement_id"][scored].as_py()
    scaled = table["result_score_scaled"].to_pylist()
    scaled[scored] = 1.7
    table = _set(table, "result_score_scaled", scaled)
    duplicated = table["statement_id"][3].as_py()
    _add_batch(lake, "b2", pa.concat_tables([table, table.slice(3, 1)]))
    before = lake.snapshot_id("analyst_statements")

    with pytest.raises(QualityGateError) as error:
        check_batches(lake, ["b2"], tmp_path / "reports", run_time=FRESH)
    message = str(error.value)
    assert "batch b2 from moodle-a (51 rows)" in message
    assert f"critical statement-id-unique (expect_column_values_to_be_unique(statement_id)): 2 of 51 rows; " \
           f"e.g. statement_id {duplicated}" in message
    assert "critical score-scaled-in-range" in message and bad_id in message
    assert error.value.report.result_file.exists()
    assert str(pickle.loads(pickle.dumps(error.value))) == message

    held = BatchHolds(lake).held()
    assert list(held) == ["b2"]
    assert [f["check"] for f in held["b2"]["critical"]] == ["statement-id-unique", "score-scaled-in-range"]
    assert publish(lake, KEY) == []
    assert lake.snapshot_id("analyst_statements") == before
    with connect(lake) as con:  # kept in the restricted zone for inspection
        assert con.execute("SELECT count(*) FROM statements WHERE batch_id = 'b2'").fetchone() == (51,)

    assert main(["release", "--lake", str(lake.root), "--batch", "b2"]) == 0
    assert publish(lake, KEY) == ["b2"]


def test_a_fixed_batch_passes_and_its_hold_is_lifted(lake, tmp_path):
    table = _first_batch(lake, 20)
    _add_batch(lake, "b2", _set(table, "validation_status", ["invalid"] * 20))
    with pytest.raises(QualityGateError, match="validation-status-known"):
        check_batches(lake, ["b2"], tmp_path / "reports", run_time=FRESH)
    assert publish(lake, KEY) == []

    _add_batch(lake, "b2", table)  # the producer re-sent the batch, fixed
    report = check_batches(lake, ["b2"], tmp_path / "reports", run_time=FRESH)
    assert report.passed and BatchHolds(lake).held() == {}
    assert publish(lake, KEY) == ["b2"]


def test_warnings_are_recorded_and_the_batch_is_published(lake, tmp_path):
    table = _first_batch(lake, 40)
    verbs = table["verb_id"].to_pylist()
    verbs[:4] = ["https://example.org/verbs/pondered"] * 4  # 10 % unknown, above the 5 % allowed
    _add_batch(lake, "b2", _set(table, "verb_id", verbs))
    stale = FRESH + timedelta(days=30)

    report = check_batches(lake, ["b2"], tmp_path / "reports", run_time=stale)
    assert report.passed and report.critical == []
    warnings = {finding.check: finding for finding in report.warnings}
    assert set(warnings) == {"verb-known", "fresh-data"}
    assert warnings["verb-known"].observed.startswith("4 of 40 rows")
    assert set(warnings["verb-known"].examples) == set(table["statement_id"].to_pylist()[:4])
    newest = max(table["stored"].to_pylist())
    assert warnings["fresh-data"].observed == f"observed {(stale - newest) / timedelta(days=1):.4g}, expected <= 7"
    recorded = json.loads(report.result_file.read_text())
    assert {f["check"] for f in recorded["batches"][0]["warnings"]} == {"verb-known", "fresh-data"}
    assert BatchHolds(lake).held() == {}
    assert publish(lake, KEY) == ["b2"]


def _statements_table(statements) -> pa.Table:
    columns = StatementColumns()
    for statement in statements:
        columns.append(statement, json.dumps(statement), [], "mem", FRESH)
    return columns.to_table()


def test_validate_table_in_memory_from_arrow_or_pandas(statement):
    over_max = copy.deepcopy(statement)
    over_max["id"] = "00000000-0000-4000-8000-000000000001"
    over_max["result"] = {"score": {"raw": 12, "min": 0, "max": 10}}
    late_clock = copy.deepcopy(statement)
    late_clock["id"] = "00000000-0000-4000-8000-000000000002"
    late_clock["stored"] = "2026-10-01T09:30:00Z"
    late_clock["timestamp"] = "2026-10-03T09:30:00Z"
    table = _statements_table([statement, over_max, late_clock])
    table = _set(table, "validation_status", ["valid", "valid", "tolerated"])

    for data in (table, table.to_pandas()):
        report = validate_table(data, run_time=datetime(2026, 10, 4, tzinfo=UTC))
        assert {f.check: f.examples for f in report.critical} == {
            "score-raw-not-above-max": ("00000000-0000-4000-8000-000000000001",)}
        warnings = {f.check: f.examples for f in report.warnings}
        assert warnings["timestamp-not-after-stored"] == ("00000000-0000-4000-8000-000000000002",)
        assert report.data_docs is None and report.result_file is None


def test_an_expectation_that_cannot_run_fails_closed(statement):
    table = _statements_table([statement]).drop_columns(["verb_id"])
    report = validate_table(table, run_time=FRESH)
    assert not report.passed
    (finding,) = [f for f in report.critical if f.check == "verb-present"]
    assert "could not be evaluated" in finding.observed and "verb_id" in finding.observed


def test_cli_check_and_release(lake, tmp_path, capsys):
    table = _first_batch(lake, 10)
    _add_batch(lake, "b2", pa.concat_tables([table, table]))
    reports = str(tmp_path / "reports")
    # Without --batch, every batch not yet checked is checked: b2, and b1 (published without a check).
    assert main(["check", "--lake", str(lake.root), "--reports", reports]) == 1
    err = capsys.readouterr().err
    assert "batch b2 from moodle-a (20 rows)" in err and "statement-id-unique" in err
    assert main(["release", "--lake", str(lake.root)]) == 0
    assert "b2: held at" in capsys.readouterr().out
    assert main(["release", "--lake", str(lake.root), "--batch", "nope"]) == 2
    assert main(["release", "--lake", str(lake.root), "--batch", "b2"]) == 0
    assert main(["check", "--lake", str(lake.root), "--batch", "b1", "--reports", reports]) == 0
    assert "batch b1 [moodle-a]: 200 rows" in capsys.readouterr().out


def test_a_hold_on_an_ingest_run_covers_its_sub_batches_only(tmp_path):
    lake = Lake(tmp_path / "lake")
    statements = list(realistic_statements(160))
    for run, part in (("run1", statements[:120]), ("run10", statements[120:])):
        path = tmp_path / f"{run}.ndjson"
        path.write_text("".join(json.dumps(s) + "\n" for s in part))
        Ingestor(lake, "moodle-a", batch_size=50).ingest(((str(path), r) for r in read_records(path)), batch_id=run)
    assert [b.batch_id for b in BatchInventory(lake).all()] == ["run1-00000", "run1-00001", "run1-00002", "run10-00000"]
    BatchHolds(lake).hold("run1", {"why": "test"})
    assert publish(lake, KEY, include_unchecked=True) == ["run10-00000"]
    # The gate reads a run's sub-batches together: 120 rows for run1.
    report = check_batches(lake, ["run1"], tmp_path / "reports", run_time=FRESH)
    assert [(b.batch_id, b.rows) for b in report.batches] == [("run1", 120)]
    assert BatchHolds(lake).held() == {}  # it passed, so its hold is lifted
    assert len(publish(lake, KEY)) == 3


def test_publish_waits_for_the_gate(lake, tmp_path):
    _ingest(lake, tmp_path, "b2", list(realistic_statements(260))[200:])
    assert publish(lake, KEY) == []  # unchecked: not for analysts yet
    report = check_batches(lake, None, tmp_path / "reports", run_time=FRESH)
    assert sorted(batch.batch_id for batch in report.batches) == ["b1-00000", "b2-00000"]
    assert publish(lake, KEY) == ["b2-00000"]
    assert check_batches(lake, None, tmp_path / "reports", run_time=FRESH).batches == []  # all checked


def test_a_bad_batch_published_without_a_check_is_found_and_withdrawn(lake, tmp_path):
    table = _first_batch(lake, 10)
    _add_batch(lake, "b2", _set(table, "result_score_scaled", [1.5] * 10))
    assert publish(lake, KEY, include_unchecked=True) == ["b2"]
    with pytest.raises(QualityGateError) as error:
        check_batches(lake, None, tmp_path / "reports", run_time=FRESH)
    (held,) = error.value.report.failed_batches
    assert (held.batch_id, held.withdrawn) == ("b2", 1)
    assert "withdrawn: 1 commit(s) of this batch had been published" in str(error.value)
    assert list(BatchHolds(lake).held()) == ["b2"]
    with connect(lake, "analyst") as con:
        assert con.execute("SELECT count(*) FROM statements WHERE batch_id = 'b2'").fetchone() == (0,)
    assert publish(lake, KEY) == []  # held: not published again
