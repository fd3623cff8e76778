"""The credit report a school director reads: one per institution, in the institution's language.

``report.html`` (screen and print) and ``report.pdf`` hold the same blocks: the summary of each
period as narrow key/value tables, two charts whose requirement line is the target of the period
they show (a year's share for the academic year, the whole requirement for the PD cycle), the
teachers with a long gap, the most used resources, the quality tiers and the method, all in
plain words. Every figure is a sum of rows of ``ledger.csv`` in the same folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from transforms.credit.labels import PERIOD_KINDS, column_label
from transforms.credit.method import method_text, period_target
from transforms.credit.policy import Policy
from transforms.reporting.i18n import Translator, translator
from transforms.reporting.pages import Figure, Heading, Page, Table, Text, page_html
from transforms.reporting.pdf import write_pdf

plt.rcParams["font.family"] = "DejaVu Sans"  # Cyrillic, Kazakh letters included
BLUE, GOLD, RED = "#2f6f9f", "#c9a227", "#b03a2e"
PERIOD_COLUMNS_PER_TABLE = 3  # beyond this a summary table no longer fits an A4 page: it is split


@dataclass(frozen=True)
class Chart:
    """What a chart shows, as drawn: the tests compare the requirement line with the period's target."""

    file: str
    period_kind: str
    target_hours: float  # the requirement line as drawn
    headroom: float  # axis end / longest bar or highest point, on each panel's value axis (the smallest)


def period_name(kind: str, period_id: str, t: Translator) -> str:
    """``Academic year 2025-26``, ``Professional development cycle 2024-2027``."""
    return f"{t(PERIOD_KINDS[kind])} {period_id.removeprefix('PD')}"


def _legend_below(axes: Axes) -> None:
    """Under the axes: a legend inside would cover a bar, the requirement line or the tallest teachers."""
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, frameon=False)


def _progress(axes: Axes, totals: pd.Series, target: float, target_label: str, t: Translator) -> tuple[float, float]:
    """Teachers' hours, sorted, against the target; returns the target as drawn and the headroom above the top."""
    values = totals.sort_values().to_numpy()
    # one filled step curve rather than a bar per teacher: thousands of bars take matplotlib seconds to draw
    axes.fill_between(range(len(values)), values, step="mid", color=BLUE, label=t("Credited hours"))
    line = axes.axhline(target, color=RED, linestyle="--", label=target_label)
    top = max(target, float(values.max()) if len(values) else 0.0)
    axes.set_ylim(0, top * 1.2 or 1)  # headroom: the line and the tallest teacher stay clear of the frame
    axes.set_xlim(-0.5, max(len(values) - 0.5, 0.5))
    axes.set_xlabel(t("Teachers, from fewest to most hours"))
    axes.set_ylabel(t("Hours"))
    _legend_below(axes)
    return float(np.asarray(line.get_ydata())[0]), float(axes.get_ylim()[1] / (axes.dataLim.y1 or 1))


def _by_category(axes: Axes, ledger: pd.DataFrame, category_label: Callable[[str], str], t: Translator) -> float:
    """Credited and over-the-limit hours per kind of activity; returns the headroom after the longest bar."""
    hours = ledger.groupby(ledger["category"].fillna(""))[["hours_credited", "hours_capped"]].sum()
    hours = hours[(hours["hours_credited"] + hours["hours_capped"]) > 0].sort_values("hours_credited")
    names = [category_label(name) for name in hours.index]
    axes.barh(names, hours["hours_credited"], color=BLUE, label=t("Credited"))
    axes.barh(names, hours["hours_capped"], left=hours["hours_credited"], color=GOLD, label=t("Over a limit"))
    total = hours["hours_credited"] + hours["hours_capped"]
    for position, (credited, whole) in enumerate(zip(hours["hours_credited"], total, strict=True)):
        axes.annotate(t.number(credited, 0), (whole, position), xytext=(3, 0), textcoords="offset points",
                      va="center", fontsize=8)
    axes.set_xlim(0, (float(total.max()) if len(total) else 1.0) * 1.2)  # headroom for the longest bar's label
    axes.set_xlabel(t("Hours"))
    axes.set_title(t("Hours by kind of activity"), fontsize=10)
    _legend_below(axes)
    return float(axes.get_xlim()[1] / (axes.dataLim.x1 or 1))


def write_charts(folder: Path, year_id: str, year_ledger: pd.DataFrame, year_teachers: pd.DataFrame,
                 cycle_teachers: pd.DataFrame, policy: Policy, t: Translator) -> list[Chart]:
    """The academic year's chart (hours by kind, progress to the year's target) and the PD cycle's (progress to
    the whole requirement)."""
    cycle_hours, years = period_target(policy, "pd_cycle"), policy.periods.pd_cycle_years
    figure, (left, right) = plt.subplots(1, 2, figsize=(9.5, 4.2), gridspec_kw={"width_ratios": [1.15, 1]})
    bars_headroom = _by_category(left, year_ledger, lambda name: policy.label("category", name, t.language), t)
    year_target = period_target(policy, "academic_year")
    drawn_year, year_headroom = _progress(right, year_teachers["credited_total"], year_target, t(
        "Target for the year: {hours} h ({cycle} h per {years}-year cycle)", hours=t.number(year_target, 0),
        cycle=t.number(cycle_hours, 0), years=t.integer(years)), t)
    right.set_title(t("Progress to the year's target"), fontsize=10)
    figure.suptitle(period_name("academic_year", year_id, t), fontsize=12)
    figure.tight_layout()
    figure.savefig(folder / "hours_by_category.png", dpi=110, bbox_inches="tight")
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(9.5, 3.4))
    drawn_cycle, cycle_headroom = _progress(axes, cycle_teachers["credited_total"], cycle_hours, t(
        "Requirement for the cycle: {hours} h", hours=t.number(cycle_hours, 0)), t)
    axes.set_title(t("Each teacher's current professional development cycle: progress to the requirement"),
                   fontsize=10)
    figure.tight_layout()
    figure.savefig(folder / "cycle_progress.png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return [Chart("hours_by_category.png", "academic_year", drawn_year, min(bars_headroom, year_headroom)),
            Chart("cycle_progress.png", "pd_cycle", drawn_cycle, cycle_headroom)]


def _summary_measures(policy: Policy) -> list[tuple[str, str]]:
    """(column, format) of each summary line, in reading order: people, hours, then what needs attention."""
    return [("teachers_in_scope", "count"), ("teachers_with_credit", "count"), ("teachers_requirement_met", "count"),
            ("pct_requirement_met", "percent"), ("requirement_hours", "target"), ("hours_total", "hours"),
            *((f"hours_{name}", "hours") for name in policy.buckets),
            ("median_hours", "hours"), ("p10_hours", "hours"), ("p90_hours", "hours"), ("capped_hours", "hours"),
            ("pending_hours", "hours"), ("teachers_flagged_gap", "count"), ("pending_items", "count"),
            ("quality_rejected_items", "count"), ("tier_C_uses", "count"), ("voided_statements", "count"),
            ("late_rows", "count")]


def _summary_value(row: dict, column: str, kind: str, policy: Policy, t: Translator) -> str:
    match kind:
        case "count":
            return t.integer(row[column])
        case "percent":
            return t.percent(row[column])
        case "target":
            return t.number(period_target(policy, row["period_kind"]), 0)
    return t.number(row[column])


def summary_tables(institution_rows: pd.DataFrame, policy: Policy, t: Translator) -> list[Table]:
    """The summary turned on its side (one row per measure, one column per period), a few periods per table."""
    periods = institution_rows.sort_values(["period_kind", "period_id"]).to_dict("records")
    measures = _summary_measures(policy)
    tables = []
    for start in range(0, len(periods), PERIOD_COLUMNS_PER_TABLE):
        chunk = periods[start:start + PERIOD_COLUMNS_PER_TABLE]
        header = ["", *(period_name(row["period_kind"], row["period_id"], t) for row in chunk)]
        rows = [[column_label(column, t, lambda name: policy.label("bucket", name, t.language)),
                 *(_summary_value(row, column, kind, policy, t) for row in chunk)] for column, kind in measures]
        tables.append(Table(header, rows, frozenset(range(1, len(header))), (2.2, *[1.0] * len(chunk))))
    return tables


def _gaps(flagged: pd.DataFrame, t: Translator) -> Table:
    rows = [[str(row.display_name), str(row.teacher_id), t.date(row.last_credited_activity),
             t.integer(row.longest_gap_days)] for row in flagged.itertuples()]
    header = [column_label(name, t) for name in ("display_name", "teacher_id", "last_credited_activity",
                                                  "longest_gap_days")]
    return Table(header, rows, frozenset({3}), (2.2, 1.2, 1.6, 1.0))


def _resources(year_ledger: pd.DataFrame, policy: Policy, t: Translator) -> Table:
    credited = year_ledger[year_ledger["hours_credited"] > 0]
    top = (credited.groupby(["credit_unit_id", "activity_title", "category", "registry_tier"], dropna=False)
           .agg(teachers=("teacher_id", "nunique"), hours=("hours_credited", "sum"))
           .sort_values(["teachers", "hours"], ascending=False).head(10).reset_index())
    rows = [[str(row.activity_title), policy.label("category", str(row.category), t.language),
             "" if pd.isna(row.registry_tier) else str(row.registry_tier), t.integer(row.teachers), t.number(row.hours)]
            for row in top.itertuples()]
    header = [column_label("activity_title", t), column_label("category", t), column_label("registry_tier", t),
              t("Teachers"), column_label("hours_credited", t)]
    return Table(header, rows, frozenset({3, 4}), (3.0, 1.8, 0.8, 0.9, 1.0))


def institution_page(folder: Path, institution_id: str, institution_rows: pd.DataFrame, teachers: pd.DataFrame,
                     ledger: pd.DataFrame, policy: Policy, version: int, t: Translator) -> tuple[Page, list[Chart]]:
    years = sorted(teachers.loc[teachers["period_kind"] == "academic_year", "period_id"].unique())
    year_id = years[-1] if years else ""
    year_ledger = ledger[ledger["academic_year"] == year_id]
    year_teachers = teachers[(teachers["period_kind"] == "academic_year") & (teachers["period_id"] == year_id)]
    cycles = (teachers[teachers["period_kind"] == "pd_cycle"].sort_values("period_id")
              .drop_duplicates("teacher_id", keep="last"))
    charts = write_charts(folder, year_id, year_ledger, year_teachers, cycles, policy, t)
    flagged = year_teachers[year_teachers["continuity_flag"].fillna(False).astype(bool)]
    cutoff = institution_rows["data_cutoff_stored"].dropna()
    subtitle = t("Figures version {version}; policy {policy} version {policy_version}; data received up to {cutoff}. "
                 "Every figure is a sum of rows of ledger.csv in this folder.", version=t.integer(version),
                 policy=policy.policy.id, policy_version=policy.policy.version,
                 cutoff=t.datetime(cutoff.iloc[0]) if len(cutoff) else "—")
    page = Page(t("Credit for professional learning: {institution}", institution=institution_id), t.language, subtitle)
    page.blocks.append(Heading(t("Summary by period")))
    page.blocks += summary_tables(institution_rows, policy, t)
    page.blocks.append(Heading(t("Charts"), new_page=True))
    page.blocks += [Figure(charts[0].file, t(
        "Left: hours by kind of activity in the academic year. Right: each teacher's hours in the year against the "
        "year's target (the dashed line).")), Figure(charts[1].file, t(
        "Each teacher's hours in their current professional development cycle against the whole requirement.")), ]
    page.blocks.append(Heading(t("Continuity: teachers with no credited learning for over {days} days ({count})",
                                 days=t.integer(policy.continuity.max_gap_days), count=t.integer(len(flagged))),
                               new_page=True))
    page.blocks.append(_gaps(flagged, t) if len(flagged) else Text(t("No teacher has such a gap.")))
    page.blocks.append(Heading(t("Most used credited resources in the academic year")))
    page.blocks.append(_resources(year_ledger, policy, t))
    page.blocks.append(Heading(t("How credit is computed"), new_page=True))  # the quality tiers included
    method = method_text(policy, t)
    page.blocks.append(Table([t("Rule"), t("What it says")], method.values.tolist(), widths=(1.4, 4.0)))
    return page, charts


def write_institution_report(folder: Path, institution_id: str, institution_rows: pd.DataFrame, teachers: pd.DataFrame,
                             ledger: pd.DataFrame, policy: Policy, version: int,
                             t: Translator | None = None) -> list[Chart]:
    """``report.html``, ``report.pdf`` and their charts, in the institution's language unless ``t`` says otherwise."""
    t = t or translator(policy.reports.language_of(institution_id))
    page, charts = institution_page(folder, institution_id, institution_rows, teachers, ledger, policy, version, t)
    (folder / "report.html").write_text(page_html(page), encoding="utf-8")
    write_pdf(page, folder / "report.pdf")
    return charts
