"""The Arrow schemas of the lake: one documented column list per table.

The descriptions become the Iceberg columns' docs, so a catalog browser shows what each column
means; ``xapi-pipeline schema`` prints the same table. :data:`TABLES` adds the partition columns
(``source`` and a typed ``stored_date`` or ``ingest_date``), which Iceberg also keeps in the files.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
_IDS = pa.list_(pa.string())


def _schema(columns: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, dtype, metadata={"description": text}) for name, dtype, text in columns]
    )


STATEMENT_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("statement_id", pa.string(), "statement id (lower-case UUID); the upsert key"),
    ("id_generated", pa.bool_(), "true when the statement had no id and one was derived (UUIDv5 of its content)"),
    ("stored", UTC_TIMESTAMP, "when the LRS stored it (UTC); null for files that never passed an LRS"),
    ("timestamp", UTC_TIMESTAMP, "when the experience happened (UTC; no offset is read as UTC)"),
    ("timestamp_raw", pa.string(), "timestamp exactly as sent, keeping its offset"),
    ("actor_type", pa.string(), "Agent or Group"),
    ("actor_ifi_type", pa.string(), "mbox, mbox_sha1sum, openid or account; null for an anonymous Group"),
    ("actor_ifi", pa.string(), "canonical IFI, e.g. 'mbox:mailto:a@b.org', 'account:<homePage>|<name>'"),
    ("actor_name", pa.string(), "actor display name (restricted zone only)"),
    ("actor_member_ifis", _IDS, "canonical IFIs of the members of a Group actor"),
    ("verb_id", pa.string(), "verb IRI"),
    ("verb_display", pa.string(), "verb display (en-US, then en, then the first language)"),
    ("object_type", pa.string(), "Activity, Agent, Group, SubStatement or StatementRef (or a tolerated type)"),
    ("object_id", pa.string(), "activity IRI, referenced statement id, or canonical IFI of an Agent/Group object"),
    ("object_definition_type", pa.string(), "activity type IRI"),
    ("object_name", pa.string(), "activity name (en-US, then en, then the first language)"),
    ("object_interaction_type", pa.string(), "interactionType of an interaction activity"),
    ("result_success", pa.bool_(), "result.success"),
    ("result_completion", pa.bool_(), "result.completion"),
    ("result_score_scaled", pa.float64(), "result.score.scaled"),
    ("result_score_raw", pa.float64(), "result.score.raw"),
    ("result_score_min", pa.float64(), "result.score.min"),
    ("result_score_max", pa.float64(), "result.score.max"),
    ("result_duration_seconds", pa.float64(), "result.duration in seconds (Y=365 d, M=30 d, W=7 d)"),
    ("result_duration_raw", pa.string(), "result.duration as sent"),
    ("result_response", pa.string(), "result.response"),
    ("result_extensions", pa.string(), "result.extensions as JSON text"),
    ("context_registration", pa.string(), "context.registration"),
    ("context_platform", pa.string(), "context.platform"),
    ("context_language", pa.string(), "context.language"),
    ("context_revision", pa.string(), "context.revision"),
    ("context_instructor_ifi", pa.string(), "canonical IFI of context.instructor"),
    ("context_team_ifi", pa.string(), "canonical IFI of context.team (null if anonymous)"),
    ("context_team_member_ifis", _IDS, "canonical IFIs of the members of context.team"),
    ("context_parent_ids", _IDS, "contextActivities.parent activity ids"),
    ("context_grouping_ids", _IDS, "contextActivities.grouping activity ids"),
    ("context_category_ids", _IDS, "contextActivities.category activity ids"),
    ("context_other_ids", _IDS, "contextActivities.other activity ids"),
    ("context_statement_id", pa.string(), "context.statement (a StatementRef id)"),
    ("context_extensions", pa.string(), "context.extensions as JSON text"),
    ("authority_ifi", pa.string(), "canonical IFI of the authority (group: 'group:' + member IFIs)"),
    ("version", pa.string(), "statement version as sent"),
    ("voided_statement_id", pa.string(), "for a voiding statement, the id of the statement it voids"),
    ("validation_status", pa.string(), "valid, or tolerated (invalid only in rules the source tolerates)"),
    ("tolerated_rules", _IDS, "rule ids tolerated for this statement"),
    ("raw_json", pa.string(), "the statement exactly as received (restricted zone only)"),
    ("batch_id", pa.string(), "ingest batch that wrote the row"),
    ("ingested_at", UTC_TIMESTAMP, "when the row was written"),
]
STATEMENTS = _schema(STATEMENT_COLUMNS)

# The analyst-facing zone: no raw JSON, no names, and every person IFI replaced by a pseudonym.
ANALYST_DROPPED = ("actor_name", "raw_json")
ANALYST_PSEUDONYMIZED = (
    "actor_ifi", "actor_member_ifis", "context_instructor_ifi", "context_team_ifi",
    "context_team_member_ifis", "authority_ifi",
)

ISSUE = pa.struct([("path", pa.string()), ("rule", pa.string()), ("message", pa.string())])
QUARANTINE_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("quarantine_key", pa.string(), "sha256 of source, place (file, line, index; none for an LRS statement, whose "
                                    "bytes carry id and stored) and raw text; makes re-ingest idempotent"),
    ("statement_id", pa.string(), "the statement's id, when it had a readable one"),
    ("origin", pa.string(), "file path or LRS page the record came from"),
    ("record_index", pa.int64(), "0-based position of the record in its origin"),
    ("line", pa.int64(), "1-based line where the record starts"),
    ("raw_json", pa.string(), "the record exactly as received (may be malformed JSON)"),
    ("errors", pa.list_(ISSUE), "every reason: JSON path, rule id, message"),
    ("rules", _IDS, "distinct rule ids, for filtering"),
    ("batch_id", pa.string(), "ingest batch that wrote the row"),
    ("ingested_at", UTC_TIMESTAMP, "when the row was written"),
]
QUARANTINE = _schema(QUARANTINE_COLUMNS)

VOID_LEDGER_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("target_id", pa.string(), "id of the voided statement"),
    ("voiding_statement_id", pa.string(), "id of the first voiding statement that names it"),
    ("voided_at", UTC_TIMESTAMP, "when the voiding statement was stored"),
    ("target_in_lake", pa.bool_(), "whether the voided statement is in the lake yet"),
    ("target_is_a_void", pa.bool_(), "a voiding statement cannot be voided: such a void is ignored"),
]
_SOURCE = ("source", pa.string(), "source id (partition)")


@dataclass(frozen=True)
class TableSpec:
    """One lake table: its columns (partition columns included) and how it is partitioned.

    ``partition_by`` is ``(source, date column)``: files are split by source and by the month of
    the date. Days were too fine: a backfill of one year's export wrote 400 files per batch (one
    per day), and pyiceberg's per-file cost made that 30 times slower than validating it. Readers
    still skip files by the date column's statistics, at day precision.
    """

    schema: pa.Schema
    partition_by: tuple[str, ...] = ()

    def partition_fields(self) -> list[tuple[str, str, str]]:
        """(column, Iceberg transform, partition field name): the source as it is, the date by month."""
        if not self.partition_by:
            return []
        source, date = self.partition_by
        return [(source, "identity", source), (date, "month", f"{date}_month")]

    def iceberg_arrow_schema(self) -> pa.Schema:
        """The schema pyiceberg turns into the table's: descriptions become column docs."""
        return pa.schema([f.with_metadata({"doc": (f.metadata or {}).get(b"description", b"")}) for f in self.schema])

    def conform(self, rows: pa.Table) -> pa.Table:
        return rows.select(self.schema.names).cast(self.schema)

    def with_partitions(self, rows: pa.Table, source: str, moment: str) -> pa.Table:
        """Add the source and the UTC date of ``moment`` (``ingested_at`` where it is null)."""
        date_column = self.partition_by[1]
        dates = pc.cast(pc.coalesce(rows[moment], rows["ingested_at"]), pa.date32())
        rows = rows.append_column("source", pa.array([source] * rows.num_rows, pa.string()))
        return self.conform(rows.append_column(date_column, dates))


def _partitioned(columns: list[tuple[str, pa.DataType, str]], date: tuple[str, str]) -> TableSpec:
    date_column = (date[0], pa.date32(), date[1])
    return TableSpec(_schema([*columns, _SOURCE, date_column]), ("source", date[0]))


ANALYST_TABLE = "analyst_statements"
# Where the roster resolves the actor: analysts join one teacher across platforms by teacher_key.
ANALYST_TEACHER_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("teacher_key", pa.string(), "'t_' + keyed pseudonym of the roster's teacher id (one per teacher across "
                                 "platforms and accounts); null when the roster does not know the actor"),
    ("institution_id", pa.string(), "the actor's institution in the roster on the statement's UTC timestamp date; "
                                    "null when the roster does not know the actor or has no membership then"),
]
_STORED_DATE = ("stored_date", "UTC date stored by the LRS (ingest date when unknown); partition")
TABLES: dict[str, TableSpec] = {
    "statements": _partitioned(STATEMENT_COLUMNS, _STORED_DATE),
    "quarantine": _partitioned(QUARANTINE_COLUMNS, ("ingest_date", "UTC date of ingest; partition")),
    ANALYST_TABLE: _partitioned([*(c for c in STATEMENT_COLUMNS if c[0] not in ANALYST_DROPPED),
                                 *ANALYST_TEACHER_COLUMNS], _STORED_DATE),
    "void_ledger": TableSpec(_schema(VOID_LEDGER_COLUMNS)),
}
