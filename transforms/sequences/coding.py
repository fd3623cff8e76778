"""Coding statements into behaviours: SQL expressions built from the coding scheme.

Everything runs inside DuckDB over the lake view, so coding ten million statements never
materializes them in Python. Configuration strings only reach SQL as escaped literals, and the
scheme's models already restrict IRIs and codes to harmless characters.
"""

from __future__ import annotations

from transforms.sequences.scheme import Dimension, FieldRef, Rule, Scheme, Scope

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
UNCODED_NO_RULE = "no rule matched"
UNCODED_NOT_A_CODE = "value is not a code of the scheme"


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


def behaviours_sql(scheme: Scheme) -> str:
    """In-scope, non-voided statements with unit, group, learner and one raw code per dimension.

    Voided statements are dropped together with the voiding statements themselves (the
    voiding statement is bookkeeping, not behaviour).
    """
    group = field_sql(scheme.compare) if scheme.compare else "NULL"
    raw_codes = ", ".join(f"{raw_code_sql(d)} AS raw_{i}" for i, d in enumerate(scheme.dimensions))
    return f"""
        SELECT statement_id, timestamp, actor_ifi AS learner,
               CAST({field_sql(scheme.units)} AS VARCHAR) AS unit_id,
               CAST({group} AS VARCHAR) AS group_id,
               verb_id, object_definition_type, {raw_codes}
        FROM statements
        WHERE voided_statement_id IS NULL
          AND statement_id NOT IN (SELECT voided_statement_id FROM statements WHERE voided_statement_id IS NOT NULL)
          AND {scope_sql(scheme.scope)}
    """


def coded_events_sql(scheme: Scheme, behaviours: str) -> str:
    """One row per (dimension, statement with a unit), numbered within its unit.

    Order is timestamp with the statement id as a stable tie-break. Uncoded statements keep
    their position with a NULL code and the reason, so no pair bridges them and none is hidden.
    A unit belongs to the comparison group of its first statement.
    """
    parts = []
    for i, dimension in enumerate(scheme.dimensions):
        codes = ", ".join(literal(c) for c in dimension.code_names)
        parts.append(f"""
            SELECT {literal(dimension.id)} AS dimension, unit_id,
                   first_value(group_id) OVER unit_order AS group_id,
                   learner, statement_id, timestamp,
                   row_number() OVER unit_order AS seq_index,
                   CASE WHEN raw_{i} IN ({codes}) THEN raw_{i} END AS code,
                   CASE WHEN raw_{i} IS NULL THEN {literal(UNCODED_NO_RULE)}
                        WHEN raw_{i} NOT IN ({codes}) THEN {literal(UNCODED_NOT_A_CODE)} END AS uncoded_reason,
                   raw_{i} AS raw_value, verb_id, object_definition_type
            FROM {behaviours}
            WHERE unit_id IS NOT NULL
            WINDOW unit_order AS (PARTITION BY unit_id ORDER BY timestamp NULLS LAST, statement_id
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)""")
    return " UNION ALL ".join(parts)
