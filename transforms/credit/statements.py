"""A statement of participation per teacher, as HTML and PDF, in the institution's language.

Modelled on an annual statement of participation: totals per period against the requirement,
every activity with what it earned and, when it earned less than its hours, why in plain words
(the ledger's reason, :mod:`transforms.credit.reasons`), the quality tiers explained, footnotes
on hours and limits, and a verification hash anyone can recompute from ``ledger.csv``.

Cells are formatted for all teachers at once (column by column), so a cluster of thousands of
teachers costs one pass over the ledger plus the writing of each teacher's two files.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from transforms.credit.labels import STATUSES, column_label
from transforms.credit.method import amount, period_target, tier_rules
from transforms.credit.policy import Policy
from transforms.credit.reasons import explain, first_reason
from transforms.credit.report import period_name
from transforms.reporting.i18n import Translator, format_each, translator
from transforms.reporting.pages import Heading, Page, Table, Text, page_html
from transforms.reporting.pdf import write_pdfs

_ITEM_WIDTHS = (1.3, 3.2, 1.2, 3.6, 1.4)


@dataclass(frozen=True)
class Statement:
    teacher_id: str
    page: Page
    digest: str


def _numbers(values: pd.Series, t: Translator, digits: int = 2) -> pd.Series:
    return format_each(values, lambda value: t.number(value, digits))


def _item_rows(ledger: pd.DataFrame, policy: Policy, t: Translator) -> pd.DataFrame:
    """The activities table's cells for every teacher: date, activity, hours, status with its reason, evidence."""
    items = ledger.sort_values(["activity_end", "ledger_id"]).reset_index(drop=True)
    items["reason"] = first_reason(items["reason_codes"])
    days = pd.to_datetime(items["activity_end"], utc=True).dt.normalize()
    activity = items["activity_title"].fillna("").astype(str)
    details = items["category"].map(lambda name: policy.label("category", name, t.language) if isinstance(name, str)
                                    else "")
    provider = items["provider_name"].fillna("")
    details = details.where(provider == "", details + ", " + provider)
    tier = items["registry_tier"].map(lambda name: t("tier {tier}", tier=name) if isinstance(name, str) else "")
    details = details.where(tier == "", details + ", " + tier)
    status = items["status"].map({name: t(label) for name, label in STATUSES.items()}).fillna(items["status"])
    plain = (items["status"] == "credited") & (items["reason"] == "")
    reasons = explain(items[~plain], policy, t)
    status = status.where(plain, status + ": " + reasons.reindex(items.index).fillna(""))
    return pd.DataFrame({
        "teacher_id": items["teacher_id"],
        "date": format_each(days, t.date),
        "activity": activity + "\n" + details,
        "credited": _numbers(items["hours_credited"], t),
        "status": status,
        "evidence": items["primary_statement_id"].fillna("").astype(str).str[:8],
        "check": items["ledger_id"].astype(str) + ":" + items["status"] + ":" + items["hours_credited"].astype(str),
    }, index=items.index)


def _totals(periods: list[dict], policy: Policy, t: Translator, number: Callable[..., str]) -> Table:
    """The teacher's totals on their side: one row per measure, one column per period."""
    bucket_label = lambda name: policy.label("bucket", name, t.language)  # noqa: E731
    names = ["credited_total", *(f"credited_{name}" for name in policy.buckets), "capped_hours"]
    rows = [[column_label(name, t, bucket_label), *(number(row[name]) for row in periods)] for name in names]
    rows += [[column_label("pending_items", t), *(number(row["pending_items"], 0) for row in periods)],
             [column_label("requirement_hours", t),
              *(number(period_target(policy, row["period_kind"]), 0) for row in periods)],
             [column_label("remaining_to_requirement", t), *(number(row["remaining_to_requirement"]) for row in periods)]]
    header = ["", *(period_name(row["period_kind"], row["period_id"], t) for row in periods)]
    return Table(header, rows, frozenset(range(1, len(header))), (2.2, *[1.0] * len(periods)))


def statement_pages(teachers: pd.DataFrame, ledger: pd.DataFrame, policy: Policy, version: int,
                    t: Translator) -> list[Statement]:
    """Every teacher's statement; frames are turned into Python rows once, not per teacher (thousands of them)."""
    number = cache(t.number)  # the same few hour values recur across teachers
    items = _item_rows(ledger, policy, t)
    rows_of: dict[str, list[list[str]]] = defaultdict(list)
    checks_of: dict[str, list[str]] = defaultdict(list)
    cells = items[["date", "activity", "credited", "status", "evidence"]].values.tolist()
    for teacher_id, cell_row, check in zip(items["teacher_id"].astype(str), cells, items["check"], strict=True):
        rows_of[teacher_id].append(cell_row)
        checks_of[teacher_id].append(check)
    periods_of: dict[str, list[dict]] = defaultdict(list)
    for record in teachers.sort_values(["teacher_id", "period_kind", "period_id"]).to_dict("records"):
        periods_of[str(record["teacher_id"])].append(record)
    # hours over a limit are in the reason of the row they concern ("… 0,75 h are over the limit for …")
    item_header = [column_label("activity_end", t), column_label("activity_title", t), column_label("hours_credited", t),
                   t("Status and reason"), column_label("primary_statement_id", t)]
    tiers = [Text(f"{name}: {rule}", small=True) for name, rule in tier_rules(policy, t)]
    footnote = t("Hours are clock hours of {minutes} minutes, rounded down to {step} h per activity. Limits apply per "
                 "type of learning in the order of the activities' dates; hours over a limit are shown but not "
                 "credited and do not carry over. Evidence is the beginning of the id of the xAPI record the cluster "
                 "keeps.", minutes=t.integer(policy.units.minutes_per_unit), step=amount(t, policy.units.rounding.step))
    statements = []
    for teacher_id, periods in periods_of.items():
        person, rows = periods[0], rows_of.get(teacher_id, [])
        digest = hashlib.sha256("\n".join([teacher_id, *checks_of.get(teacher_id, [])]).encode()).hexdigest()
        page = Page(t("Statement of participation"), t.language, t(
            "{name} ({teacher}), {institution}. Policy {policy_version}; figures version {version}.",
            name=str(person["display_name"]), teacher=teacher_id, institution=str(person["institution_id"]),
            policy_version=policy.policy.version, version=t.integer(version)))
        page.blocks += [Heading(t("Totals")), _totals(periods, policy, t, number), Heading(t("Activities")),
                        Table(item_header, rows, frozenset({2}), _ITEM_WIDTHS) if rows
                        else Text(t("No activity recorded.")),
                        Heading(t("Quality tiers of resources"), level=3), *tiers, Text(footnote, small=True),
                        Text(t("Verification: sha256 over this teacher's ledger rows (ledger id, status, credited hours, "
                               "in date order) = {digest}", digest=digest), small=True)]
        statements.append(Statement(teacher_id, page, digest))
    return statements


def write_statements(folder: Path, teachers: pd.DataFrame, ledger: pd.DataFrame, policy: Policy, version: int,
                     t: Translator | None = None) -> int:
    """``<teacher_id>.html`` and ``<teacher_id>.pdf`` per teacher; returns how many teachers."""
    folder.mkdir(parents=True, exist_ok=True)
    if t is None:
        institutions = teachers["institution_id"].dropna().unique()
        t = translator(policy.reports.language_of(str(institutions[0])) if len(institutions) else
                       policy.reports.default_language)
    statements = statement_pages(teachers, ledger, policy, version, t)
    for statement in statements:
        (folder / f"{statement.teacher_id}.html").write_text(page_html(statement.page), encoding="utf-8")
    write_pdfs([(statement.page, folder / f"{statement.teacher_id}.pdf") for statement in statements])
    return len(statements)
