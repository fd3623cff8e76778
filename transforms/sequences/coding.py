"""Coding statements into behaviours: SQL expressions built from the coding scheme.

Everything runs inside DuckDB over the lake view, so coding ten million statements never
materializes them in Python. Configuration strings only reach SQL as escaped literals, and the
scheme's models already restrict IRIs and codes to harmless characters.
"""

from __future__ import annotations

from transforms.reporting.i18n import N_
from transforms.sequences.scheme import Dimension, FieldRef, Rule, Scheme, Scope
from xapi_ingest.xapi.vocabulary import VOIDED_VERB

UNCODED_NO_RULE = N_("no rule matched")
UNCODED_NOT_A_CODE = N_("value is not a code of the scheme")


ALL_ROWS = "TRUE"  # a row filter that keeps every statement


def literal(text: str) -> str:
    """A SQL string literal (standard quoting: a quote is doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _in_list(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(literal(v) for v in values)})"


def _extension(column: str, key: str) -> str:
    return f"json_extract_string({column}, {literal(f'$.{chr(34)}{key}{chr(34)}')})"


def field_sql(ref: FieldRef) -> str:
    """The value of a unit or group reference for one statement row (NULL when absent)."""
    if ref.from_ == "registration":
        return "context_registration"
    if ref.from_ == "team":
        return "context_team_ifi"
    if ref.from_ == "context_extension":
        return _extension("context_extensions", ref.key or "")
    if ref.from_ == "result_extension":
        return _extension("result_extensions", ref.key or "")
    column = f"context_{ref.from_}_ids"
    if ref.prefix:
        return f"list_filter({column}, lambda x: starts_with(x, {literal(ref.prefix)}))[1]"
    return f"{column}[1]"


def scope_sql(scope: Scope) -> str:
    conditions = [f"verb_id IS DISTINCT FROM {literal(VOIDED_VERB)}"]
    if scope.verbs:
        conditions.append(_in_list("verb_id", scope.verbs))
    if scope.activity_types:
        conditions.append(_in_list("object_definition_type", scope.activity_types))
    return " AND ".join(conditions)


def _rule_sql(rule: Rule) -> tuple[str, str]:
    """(condition, value) of one rule; the first rule whose condition holds gives the raw code."""
    conditions = []
    if rule.verbs:
        conditions.append(_in_list("verb_id", rule.verbs))
    if rule.activity_types:
        conditions.append(_in_list("object_definition_type", rule.activity_types))
    if rule.extension is None:
        return " AND ".join(conditions), literal(rule.code or "")
    value = _extension(f"{rule.extension.in_}_extensions", rule.extension.key)
    if rule.values:
        mapped = " ".join(f"WHEN {literal(raw)} THEN {literal(code)}" for raw, code in rule.values.items())
        value = f"CASE {value} {mapped} ELSE {value} END"
    conditions.append(f"{_extension(f'{rule.extension.in_}_extensions', rule.extension.key)} IS NOT NULL")
    return " AND ".join(conditions), value


def raw_code_sql(dimension: Dimension) -> str:
    """The raw code a statement gets in one dimension: a code, an unknown value, or NULL."""
    branches = " ".join(f"WHEN {condition} THEN {value}" for condition, value in map(_rule_sql, dimension.rules))
    return f"CASE {branches} END"


def code_column(dimension: Dimension) -> str:
    """Column of the coded-events table holding this dimension's code (NULL when uncoded)."""
    return "code_" + dimension.id.replace("-", "_")


def raw_column(dimension: Dimension) -> str:
    """Column with what the rules produced before checking it is a code (to explain uncoded events)."""
    return "raw_" + dimension.id.replace("-", "_")


def _behaviours_sql(scheme: Scheme, rows: str) -> str:
    """In-scope, non-voided statements with unit, group, learner and one raw code per dimension.

    Voided statements are dropped together with the voiding statements themselves (the
    voiding statement is bookkeeping, not behaviour). ``rows`` limits the statements read
    (one institution's), never the voids: a void by anyone removes its target.
    """
    group = field_sql(scheme.compare) if scheme.compare else "NULL"
    raw_codes = ", ".join(f"{raw_code_sql(d)} AS {raw_column(d)}" for d in scheme.dimensions)
    return f"""
        SELECT statement_id, timestamp, actor_ifi AS learner, verb_id, object_definition_type,
               CAST({field_sql(scheme.units)} AS VARCHAR) AS unit_id,
               CAST({group} AS VARCHAR) AS group_id, {raw_codes}
        FROM statements
        WHERE voided_statement_id IS NULL AND ({rows})
          AND statement_id NOT IN (SELECT voided_statement_id FROM statements WHERE voided_statement_id IS NOT NULL)
          AND {scope_sql(scheme.scope)}
    """


def scope_counts_sql(scheme: Scheme, rows: str = ALL_ROWS) -> str:
    """(statements, voided or voiding, in scope, in scope without a unit) in one pass."""
    return f"""
        WITH voided AS (SELECT DISTINCT voided_statement_id AS id FROM statements WHERE voided_statement_id IS NOT NULL)
        SELECT count(*),
               count(*) FILTER (WHERE voided_statement_id IS NOT NULL OR statement_id IN (SELECT id FROM voided)),
               count(*) FILTER (WHERE voided_statement_id IS NULL AND statement_id NOT IN (SELECT id FROM voided)
                                AND {scope_sql(scheme.scope)}),
               count(*) FILTER (WHERE voided_statement_id IS NULL AND statement_id NOT IN (SELECT id FROM voided)
                                AND {scope_sql(scheme.scope)} AND {field_sql(scheme.units)} IS NULL)
        FROM statements WHERE {rows}
    """


def without_unit_sql(scheme: Scheme, limit: int, rows: str = ALL_ROWS) -> str:
    return f"""
        SELECT statement_id, timestamp, verb_id, object_definition_type FROM statements
        WHERE voided_statement_id IS NULL AND ({rows}) AND {scope_sql(scheme.scope)} AND {field_sql(scheme.units)} IS NULL
          AND statement_id NOT IN (SELECT voided_statement_id FROM statements WHERE voided_statement_id IS NOT NULL)
        ORDER BY statement_id LIMIT {int(limit)}
    """


SEQUENCE_ORDER = "unit_id, timestamp NULLS LAST, statement_id"


def coded_events_sql(scheme: Scheme, rows: str = ALL_ROWS) -> str:
    """One row per behaviour with a unit, in sequence order: by unit, then timestamp, then id.

    The statement id is a stable tie-break for equal timestamps. Each dimension gets a code
    column (NULL when uncoded: the event keeps its position, so no pair bridges it and nothing
    is hidden) and, when the rules produced something that is not a code, that raw value. The
    file is sorted so that the tally can stream it unit by unit; a plain ORDER BY is less than
    half the cost of numbering rows with a window, so positions are counted while streaming.
    """
    columns = []
    for d in scheme.dimensions:
        codes = ", ".join(literal(c) for c in d.code_names)
        raw = raw_column(d)
        columns.append(f"CASE WHEN {raw} IN ({codes}) THEN {raw} END AS {code_column(d)}, "
                       f"CASE WHEN {raw} NOT IN ({codes}) THEN {raw} END AS {raw}")
    return f"""
        SELECT unit_id, group_id, learner, statement_id, timestamp, verb_id, object_definition_type, {", ".join(columns)}
        FROM ({_behaviours_sql(scheme, rows)})
        WHERE unit_id IS NOT NULL
        ORDER BY {SEQUENCE_ORDER}
    """


def uncoded_examples_sql(coded_file: str, dimension: Dimension, limit: int) -> str:
    return f"""
        SELECT statement_id, unit_id, timestamp,
               CASE WHEN {raw_column(dimension)} IS NULL THEN {literal(UNCODED_NO_RULE)} ELSE {literal(UNCODED_NOT_A_CODE)} END
                   AS reason,
               {raw_column(dimension)} AS raw_value, verb_id, object_definition_type
        FROM read_parquet({literal(coded_file)}) WHERE {code_column(dimension)} IS NULL
        ORDER BY {SEQUENCE_ORDER} LIMIT {int(limit)}
    """
