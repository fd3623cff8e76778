"""Gather the evidence: statements → one row per (teacher, credit unit, category, attempt).

This is the only stage that touches statements, and it runs entirely inside DuckDB: voids
applied, authorities matched against the allow-list, actors resolved through the roster,
object IRIs matched to registry credit units as of the activity date, categories assigned,
and time intervals unioned. What comes out is small (one row per learning activity), so the
decision stages that follow can work on pandas frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

from transforms.credit.policy import Policy
from xapi_ingest.xapi.vocabulary import VOIDED_VERB as VOIDED

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
PASSED = "http://adlnet.gov/expapi/verbs/passed"
FAILED = "http://adlnet.gov/expapi/verbs/failed"
SATISFIED = "https://w3id.org/xapi/adl/verbs/satisfied"
TERMINATED = "http://adlnet.gov/expapi/verbs/terminated"
PLAYED_SEGMENTS = "https://w3id.org/xapi/video/extensions/played-segments"
VIDEO_LENGTH = "https://w3id.org/xapi/video/extensions/length"
MASTERY_SCORE = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
VIDEO_TYPE = "https://w3id.org/xapi/video/activity-type/video"
_LEVEL_RANK = {"system_verified": 1, "host_attested": 2, "self_declared": 3}


@dataclass
class Evidence:
    groups: pd.DataFrame  # one row per candidate ledger row
    wall_segments: pd.DataFrame  # ledger_id, start_ms, end_ms: unioned wall-clock intervals per row
    unmatched_actors: pd.DataFrame  # actor_ifi, statements, first_seen, last_seen
    unlisted_resources: pd.DataFrame  # activity_iri, category, statements, teachers, first_seen, last_seen
    statement_watermark: pd.Timestamp | None


def _config_tables(con: duckdb.DuckDBPyConnection, policy: Policy, registry: pa.Table,
                   identities: pa.Table, memberships: pa.Table) -> None:
    authorities = pa.Table.from_pylist(
        [{"auth_key": ("account_name:" + a.match.account_name) if a.match.account_name is not None else f"ifi:{a.match.ifi}",
          "authority_id": a.id, "evidence_level": a.evidence_level, "level_rank": _LEVEL_RANK[a.evidence_level]}
         for a in policy.trust.authorities])
    categories = pa.Table.from_pylist(
        [{"category": name, "priority": index, "role": c.match.actor_role, "verbs": c.match.verbs,
          "activity_types": c.match.activity_types, "kinds": c.match.registry_kind, "method": c.hours.method,
          "engagement_verbs": c.evidence.engagement_verbs, "min_scaled": c.evidence.min_scaled}
         for index, (name, c) in enumerate(policy.categories.items())],
        schema=pa.schema([("category", pa.string()), ("priority", pa.int64()), ("role", pa.string()),
                          ("verbs", pa.list_(pa.string())), ("activity_types", pa.list_(pa.string())),
                          ("kinds", pa.list_(pa.string())), ("method", pa.string()),
                          ("engagement_verbs", pa.list_(pa.string())), ("min_scaled", pa.float64())]))
    for name, table in {"cfg_auth": authorities, "cfg_cat": categories, "cfg_reg": registry,
                        "cfg_ids": identities, "cfg_members": memberships}.items():
        con.register(name, table)


# The lake is read once, in one streamed pass (see ``_lake_rows``), into ``b``: the columns the
# stages use, with the JSON extensions parsed only on the rows that need them (video sessions,
# passed/failed). Authorities, voids and the watermark come from ``b``; the view ``s`` applies
# them, and is read twice (engagement references, candidates) before ``b`` is dropped.
LAKE_COLUMNS = ("statement_id", "stored", "timestamp", "actor_ifi", "verb_id", "voided_statement_id", "object_id",
                "object_definition_type", "result_success", "result_score_scaled", "result_duration_seconds",
                "result_extensions", "context_registration", "context_instructor_ifi", "context_parent_ids",
                "context_grouping_ids", "context_extensions", "authority_ifi", "source")

_LAKE_SQL = f"""
CREATE TEMP TABLE b AS
SELECT statement_id, stored, timestamp, actor_ifi, verb_id, voided_statement_id, object_id, object_definition_type,
       result_success, result_score_scaled, result_duration_seconds, context_registration, context_instructor_ifi,
       authority_ifi, source,
       CASE WHEN verb_id IN (SELECT unnest(engagement_verbs) FROM cfg_cat)
            THEN list_concat(coalesce(context_parent_ids, []), coalesce(context_grouping_ids, [])) END AS context_refs,
       CASE WHEN object_definition_type = '{VIDEO_TYPE}'
            THEN json_extract_string(result_extensions, '$."{PLAYED_SEGMENTS}"') END AS played,
       CASE WHEN object_definition_type = '{VIDEO_TYPE}'
            THEN TRY_CAST(json_extract_string(context_extensions, '$."{VIDEO_LENGTH}"') AS DOUBLE) END AS video_length_s,
       CASE WHEN verb_id IN ('{PASSED}', '{FAILED}')
            THEN TRY_CAST(json_extract_string(context_extensions, '$."{MASTERY_SCORE}"') AS DOUBLE) END AS statement_mastery
FROM lake_rows
"""

_AUTHORITIES_SQL = f"""
CREATE TEMP TABLE auth_map AS
SELECT a.authority_ifi, a.last_stored, a.voided_ids, coalesce(a1.authority_id, a2.authority_id) AS authority_id,
       coalesce(a1.evidence_level, a2.evidence_level) AS evidence_level, coalesce(a1.level_rank, a2.level_rank) AS level_rank
FROM (SELECT authority_ifi, max(stored) AS last_stored,
             list(voided_statement_id) FILTER (WHERE verb_id = '{VOIDED}' AND voided_statement_id IS NOT NULL) AS voided_ids
      FROM b GROUP BY authority_ifi) a
LEFT JOIN cfg_auth a1 ON a1.auth_key = 'ifi:' || a.authority_ifi
LEFT JOIN cfg_auth a2 ON a2.auth_key = 'account_name:' || regexp_extract(a.authority_ifi, '^account:[^|]*\\|(.*)$', 1)
"""

_VOIDS_SQL = """
CREATE TEMP TABLE voids AS  -- a void counts when a trusted authority sent it, or the one that asserted the target
SELECT target, bool_or(authority_id IS NOT NULL) AS trusted_sender, list(DISTINCT authority_ifi) AS senders
FROM (SELECT unnest(voided_ids) AS target, authority_ifi, authority_id FROM auth_map WHERE voided_ids IS NOT NULL)
GROUP BY target
"""

_STATEMENTS_SQL = f"""
CREATE TEMP VIEW s AS
SELECT b.statement_id, b.stored, b.timestamp, b.actor_ifi, b.verb_id, b.object_id, b.object_definition_type,
       b.result_success, b.result_score_scaled, b.result_duration_seconds, b.context_registration,
       b.context_instructor_ifi, b.source, b.context_refs, b.played, b.video_length_s, b.statement_mastery,
       coalesce(v.trusted_sender OR list_contains(v.senders, b.authority_ifi), false) AS voided,
       au.authority_id, au.evidence_level, au.level_rank, CAST(b.timestamp AS DATE) AS activity_date,
       learner.teacher_id AS actor_teacher_id, facilitator.teacher_id AS instructor_teacher_id
FROM b
LEFT JOIN auth_map au USING (authority_ifi)
LEFT JOIN voids v ON v.target = b.statement_id
LEFT JOIN cfg_ids learner ON learner.ifi = b.actor_ifi
LEFT JOIN cfg_ids facilitator ON facilitator.ifi = b.context_instructor_ifi
WHERE b.verb_id <> '{VOIDED}'
"""

# Each statement matched to its registry row as of its activity date, then to at most one
# learner category and one facilitator category (the first that matches, in policy order). The
# category rules are evaluated once per distinct (verb, activity type, kind), not per statement.
_CANDIDATES_SQL = """
CREATE TEMP TABLE c AS
WITH r AS (
    SELECT s.*, g.reg_row, g.credit_unit_id, g.kind, g.mastery_scaled
    FROM s LEFT JOIN cfg_reg g ON g.iri = s.object_id AND s.activity_date >= g.valid_from AND s.activity_date < g.valid_to
), combos AS (
    SELECT DISTINCT verb_id, object_definition_type, kind FROM r
), rules AS (
    SELECT co.*, cat.role, arg_min(cat.category, cat.priority) AS category, arg_min(cat.method, cat.priority) AS method,
           arg_min(cat.min_scaled, cat.priority) AS category_min_scaled
    FROM combos co JOIN cfg_cat cat
      ON (cat.verbs IS NULL OR list_contains(cat.verbs, co.verb_id))
     AND (cat.activity_types IS NULL OR list_contains(cat.activity_types, co.object_definition_type))
     AND (cat.kinds IS NULL OR list_contains(cat.kinds, co.kind))
    GROUP BY ALL
), matched AS (
    SELECT r.*, rules.role, rules.category, rules.method, rules.category_min_scaled,
           CASE WHEN rules.role = 'learner' THEN r.actor_ifi ELSE r.context_instructor_ifi END AS person_ifi,
           CASE WHEN rules.role = 'learner' THEN r.actor_teacher_id ELSE r.instructor_teacher_id END AS teacher_id
    FROM r JOIN rules
      ON rules.verb_id IS NOT DISTINCT FROM r.verb_id
     AND rules.object_definition_type IS NOT DISTINCT FROM r.object_definition_type
     AND rules.kind IS NOT DISTINCT FROM r.kind
    WHERE rules.role = 'learner' OR r.context_instructor_ifi IS NOT NULL
), keyed AS (
    SELECT *,
           coalesce(credit_unit_id, 'unlisted:' || object_id) AS unit_key,
           CASE WHEN method = 'designated' AND role = 'learner' THEN coalesce(context_registration, object_id) ELSE '' END
               AS attempt_key,
           CASE WHEN voided THEN 'voided' WHEN authority_id IS NULL THEN 'untrusted' ELSE 'ok' END AS state,
           coalesce(mastery_scaled, statement_mastery, category_min_scaled) AS mastery
    FROM matched
)
SELECT hash(teacher_id, category, unit_key, attempt_key, state) AS gkey, teacher_id, category, unit_key, attempt_key,
       state, method, role, person_ifi, credit_unit_id, reg_row, statement_id, timestamp, stored, object_id,
       object_definition_type, verb_id, source, authority_id, evidence_level, level_rank, result_success,
       result_score_scaled, result_duration_seconds, video_length_s, played, mastery
FROM keyed
"""

# One row per group; registry attributes are those of the registry row in force at the group's
# latest statement, joined once per group rather than carried per statement.
_GROUPS_SQL = f"""
CREATE TEMP TABLE g AS
SELECT grouped.*, sha256(concat_ws('|', teacher_id, unit_key, category, attempt_key, state, statement_ids,
                                   $policy_version)) AS ledger_id,
       coalesce(reg.title, activity_iri) AS activity_title, reg.provider_name, reg.kind, reg.tier AS registry_tier,
       reg.rating_mean AS registry_rating, reg.approval_ref, reg.approval_status, reg.weight, reg.tier_bucket,
       reg.tier_flag, reg.notional_ms, reg.scheduled_start, reg.scheduled_minutes, reg.estimated_minutes,
       reg.move_on AS registry_move_on, reg.repeatable
FROM (
    SELECT gkey, any_value(teacher_id) AS teacher_id, any_value(category) AS category, any_value(unit_key) AS unit_key,
           any_value(attempt_key) AS attempt_key, any_value(state) AS state,
           any_value(method) AS method, any_value(credit_unit_id) AS credit_unit_id,
           arg_max(reg_row, (timestamp, statement_id)) AS reg_row,
           string_agg(statement_id, ' ' ORDER BY statement_id) AS statement_ids,
           arg_min(statement_id, (timestamp, statement_id)) AS primary_statement_id,
           min(timestamp) AS activity_start, max(timestamp) AS activity_end, max(stored) AS last_stored,
           arg_max(object_id, (timestamp, statement_id)) AS activity_iri, max(mastery) AS mastery_scaled,
           string_agg(DISTINCT source, ' ' ORDER BY source) AS lrs_sources,
           coalesce(string_agg(DISTINCT authority_id, ' ' ORDER BY authority_id), '') AS authorities,
           arg_max(evidence_level, (level_rank, evidence_level)) AS evidence_level,
           bool_or(verb_id IN ('{COMPLETED}', '{SATISFIED}')) AS has_completed,
           bool_or(verb_id = '{SATISFIED}' OR (verb_id = '{PASSED}' AND coalesce(result_success, true)
                   AND (result_score_scaled IS NULL OR mastery IS NULL OR result_score_scaled >= mastery))) AS has_passed,
           bool_or(verb_id = '{FAILED}' OR (verb_id = '{PASSED}' AND result_score_scaled < mastery)) AS has_failed,
           max(result_score_scaled) FILTER (WHERE verb_id IN ('{PASSED}', '{FAILED}')) AS score_scaled,
           max(result_duration_seconds) FILTER (WHERE verb_id IN ('{COMPLETED}', '{PASSED}', '{FAILED}', '{TERMINATED}'))
               AS completion_duration_s,
           max(video_length_s) AS video_length_s,
           bool_or(stored IS NOT NULL AND stored - timestamp > to_days(CAST($late_days AS INTEGER))) AS late_arrival,
           bool_or(stored IS NOT NULL AND timestamp - stored > to_microseconds(CAST($skew_us AS BIGINT))) AS clock_skew,
           count(*) AS statements
    FROM c WHERE teacher_id IS NOT NULL
    GROUP BY gkey
) grouped LEFT JOIN cfg_reg reg USING (reg_row)
"""

# Intervals in integer milliseconds. Wall-clock intervals [timestamp, timestamp + duration)
# feed attendance, measured session time and the cross-activity overlap rule; content intervals
# (the Video Profile's played-segments) feed unique watch time. Both are unioned per ledger row
# with a gaps-and-islands pass, so a re-watched or doubly reported minute counts once.
_SEGMENTS_SQL = """
CREATE TEMP TABLE seg AS
WITH keyed AS (
    SELECT g.ledger_id, g.method, g.scheduled_start, g.scheduled_minutes,
           coalesce(g.video_length_s * 1000, g.estimated_minutes * 60000) AS length_ms,
           c.statement_id, c.timestamp, c.result_duration_seconds, c.played
    FROM c JOIN g USING (gkey)
    WHERE g.method <> 'designated'
), pieces AS (
    SELECT k.*, CAST(round(TRY_CAST(split_part(p.piece, '[.]', 1) AS DOUBLE) * 1000) AS BIGINT) AS from_ms,
           CAST(round(TRY_CAST(split_part(p.piece, '[.]', 2) AS DOUBLE) * 1000) AS BIGINT) AS to_ms
    FROM keyed k,
         unnest(CASE WHEN k.played IS NULL OR k.played = '' THEN [NULL] ELSE string_split(k.played, '[,]') END) AS p(piece)
), content AS (
    SELECT ledger_id, 'content' AS kind, greatest(from_ms, 0) AS start_ms,
           CASE WHEN length_ms IS NULL THEN to_ms ELSE least(to_ms, length_ms) END AS end_ms
    FROM pieces WHERE method = 'video_unique_watch' AND from_ms IS NOT NULL AND to_ms > from_ms
), spans AS (
    SELECT ledger_id, method, scheduled_start, scheduled_minutes, epoch_ms(timestamp) AS start_ms,
           epoch_ms(timestamp) + coalesce(CAST(round(result_duration_seconds * 1000) AS BIGINT),
                                          sum(greatest(coalesce(to_ms - from_ms, 0), 0))) AS end_ms
    FROM pieces GROUP BY ledger_id, statement_id, method, scheduled_start, scheduled_minutes, timestamp,
             result_duration_seconds
), wall AS (
    SELECT ledger_id, 'wall' AS kind,
           CASE WHEN method = 'attended_intervals' AND scheduled_start IS NOT NULL
                THEN greatest(start_ms, epoch_ms(scheduled_start)) ELSE start_ms END AS start_ms,
           CASE WHEN method = 'attended_intervals' AND scheduled_start IS NOT NULL AND scheduled_minutes IS NOT NULL
                THEN least(end_ms, epoch_ms(scheduled_start) + scheduled_minutes * 60000) ELSE end_ms END AS end_ms
    FROM spans
), both_kinds AS (
    -- DISTINCT makes (start_ms, end_ms) a total order inside each partition, so the two window
    -- passes below see rows in the same order (a resent session has the very same interval)
    SELECT DISTINCT * FROM (SELECT * FROM content UNION ALL SELECT * FROM wall WHERE end_ms > start_ms)
), flagged AS (
    SELECT *, CASE WHEN start_ms <= max(end_ms) OVER (PARTITION BY ledger_id, kind ORDER BY start_ms, end_ms
                                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                   THEN 0 ELSE 1 END AS new_island
    FROM both_kinds
), islands AS (
    SELECT *, sum(new_island) OVER (PARTITION BY ledger_id, kind ORDER BY start_ms, end_ms ROWS UNBOUNDED PRECEDING) AS island
    FROM flagged
)
SELECT ledger_id, kind, min(start_ms) AS start_ms, max(end_ms) AS end_ms FROM islands GROUP BY ledger_id, kind, island
"""

# Engagement during a live event: the teacher's answered/interacted/... statements whose object,
# parent or grouping is the event, inside the scheduled window when there is one.
_ENGAGEMENT_REFS_SQL = """
CREATE TEMP TABLE eng_refs AS
WITH refs AS (
    SELECT s.statement_id, s.actor_teacher_id AS teacher_id, s.verb_id, s.timestamp, s.activity_date, ref.iri
    FROM s, unnest(list_concat([s.object_id], s.context_refs)) AS ref(iri)
    WHERE s.context_refs IS NOT NULL AND s.actor_teacher_id IS NOT NULL AND NOT s.voided AND s.authority_id IS NOT NULL
)
SELECT DISTINCT r.statement_id, r.teacher_id, r.verb_id, r.timestamp, reg.credit_unit_id
FROM refs r JOIN cfg_reg reg ON reg.iri = r.iri AND r.activity_date >= reg.valid_from AND r.activity_date < reg.valid_to
"""

_ENGAGEMENT_SQL = """
CREATE TEMP TABLE eng AS
SELECT g.ledger_id, count(*) AS interactions
FROM g JOIN cfg_cat cat ON cat.category = g.category
JOIN eng_refs e ON e.teacher_id = g.teacher_id AND e.credit_unit_id = g.credit_unit_id
WHERE g.state = 'ok' AND len(cat.engagement_verbs) > 0 AND list_contains(cat.engagement_verbs, e.verb_id)
  AND (g.scheduled_start IS NULL OR (e.timestamp >= g.scheduled_start
       AND e.timestamp < g.scheduled_start + to_minutes(CAST(coalesce(g.scheduled_minutes, 0) AS BIGINT))))
GROUP BY g.ledger_id
"""

_UNMATCHED_SQL = """
SELECT person_ifi AS actor_ifi, role, count(DISTINCT statement_id) AS statements,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen
FROM c WHERE teacher_id IS NULL GROUP BY person_ifi, role ORDER BY statements DESC, actor_ifi
"""

_UNLISTED_SQL = """
SELECT object_id AS activity_iri, any_value(object_definition_type) AS activity_type, category,
       count(DISTINCT statement_id) AS statements, count(DISTINCT teacher_id) AS teachers,
       min(timestamp) AS first_seen, max(timestamp) AS last_seen
FROM c WHERE credit_unit_id IS NULL AND state = 'ok'
GROUP BY object_id, category ORDER BY teachers DESC, statements DESC, activity_iri
"""


def _lake_rows(statements: pads.Dataset, files_per_part: int = 128) -> pa.RecordBatchReader:
    """The snapshot's rows, ``LAKE_COLUMNS`` only, streamed a few files at a time.

    A pyarrow Dataset keeps the Parquet footer of every file it has scanned for as long as it
    lives: about 200 KB of heap per file, 600 MiB for a lake of 2,800 small files, which the
    allocator then keeps. A short-lived Dataset per part bounds that to one part's footers.
    """
    files, schema = statements.files, statements.schema

    def batches() -> Iterator[pa.RecordBatch]:
        for first in range(0, len(files), files_per_part):
            part = pads.FileSystemDataset.from_paths(files[first:first + files_per_part], schema=schema,
                                                     format=statements.format, filesystem=statements.filesystem)
            yield from part.to_batches(columns=list(LAKE_COLUMNS))

    return pa.RecordBatchReader.from_batches(pa.schema([schema.field(name) for name in LAKE_COLUMNS]), batches())


def gather_evidence(statements: pads.Dataset, policy: Policy, registry: pa.Table,
                    identities: pa.Table, memberships: pa.Table) -> Evidence:
    """Run the statement-level stages in a private DuckDB connection over ``statements`` (one pinned snapshot)."""
    with duckdb.connect(config={"temp_directory": ""}) as con:
        con.execute("SET TimeZone = 'UTC'")  # activity dates are UTC dates
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = false")  # order comes from explicit sorts; saves memory
        _config_tables(con, policy, registry, identities, memberships)
        con.register("lake_rows", _lake_rows(statements))
        con.execute(_LAKE_SQL)
        return _evidence_from_lake_rows(con, policy)


def _evidence_from_lake_rows(con: duckdb.DuckDBPyConnection, policy: Policy) -> Evidence:
    con.execute(_AUTHORITIES_SQL)
    watermark = (con.execute("SELECT max(last_stored) FROM auth_map").fetchone() or (None,))[0]
    con.execute(_VOIDS_SQL)
    con.execute(_STATEMENTS_SQL)
    con.execute(_ENGAGEMENT_REFS_SQL)
    con.execute(_CANDIDATES_SQL)
    # each intermediate goes as soon as the stages after it have what they need: the peak is
    # the candidates c next to the rows b, then the groups g converted to pandas
    con.execute("DROP VIEW s")
    con.execute("DROP TABLE b")
    unmatched, unlisted = con.execute(_UNMATCHED_SQL).df(), con.execute(_UNLISTED_SQL).df()
    con.execute(_GROUPS_SQL, {
        "policy_version": policy.policy.version,
        "late_days": policy.time.late_arrival_days,
        "skew_us": int(policy.time.max_timestamp_after_stored_hours * 3_600_000_000),
    })
    con.execute(_ENGAGEMENT_SQL)
    con.execute("DROP TABLE eng_refs")
    con.execute(_SEGMENTS_SQL)
    con.execute("DROP TABLE c")
    groups = con.execute("""
        SELECT g.* EXCLUDE (gkey), coalesce(e.interactions, 0) AS interactions,
               coalesce(w.ms, 0) AS wall_union_ms, coalesce(v.ms, 0) AS content_union_ms
        FROM g LEFT JOIN eng e USING (ledger_id)
        LEFT JOIN (SELECT ledger_id, sum(end_ms - start_ms) AS ms FROM seg WHERE kind = 'wall' GROUP BY ALL) w USING (ledger_id)
        LEFT JOIN (SELECT ledger_id, sum(end_ms - start_ms) AS ms FROM seg WHERE kind = 'content' GROUP BY ALL) v
            USING (ledger_id)
        ORDER BY g.ledger_id
    """).df()
    con.execute("DROP TABLE g")
    wall = con.execute("SELECT ledger_id, start_ms, end_ms FROM seg WHERE kind = 'wall'").df()
    return Evidence(groups=groups, wall_segments=wall, unmatched_actors=unmatched, unlisted_resources=unlisted,
                    statement_watermark=None if watermark is None else pd.Timestamp(watermark))
