"""``run_sequences``: lake → coded events → sequences → LSA per dimension → diagrams, clusters, report.

Each run that has something new writes a version (``OUT/versions/vNNNN``, named in
``OUT/versions.json`` and ``OUT/LATEST``) through a staging folder, as credit does.

DuckDB codes the statements and writes them sorted by unit and time (spilling to disk past
``memory_limit``) and aggregates the learner profiles; the tally then streams that file back in
batches. Python only ever holds one batch and aggregates: K×K tables, one per comparison group
and cluster, one profile per learner. So memory does not grow with the lake.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from transforms.reporting.i18n import Language, Translator, translator
from transforms.reporting.versions import commit_version, exclusive_versions, staging_dir, version_dir
from transforms.sequences import clusters as clustering
from transforms.sequences.coding import (
    ALL_ROWS,
    code_column,
    coded_events_sql,
    literal,
    scope_counts_sql,
    uncoded_examples_sql,
    without_unit_sql,
)
from transforms.sequences.diagram import draw_transition_diagram
from transforms.sequences.homogeneity import Homogeneity
from transforms.sequences.lsa import RESIDUAL_FORM_LABELS, ChiSquare, LsaResult, analyse, structural_zero_mask
from transforms.sequences.report import Scope, write_report
from transforms.sequences.results import ClusterReport, DimensionResult, DimensionSummary, GroupResult, SequencesSummary
from transforms.sequences.scheme import Dimension, Scheme, load_scheme
from transforms.sequences.tables import MATRICES, edge_frame, matrix_frame
from transforms.sequences.tally import DimensionTally, LearnerClusters, Tally, tally_coded_events
from transforms.sequences.versions import RESULTS_VERSION, SequencesVersion, fingerprint, new_run_id, read_manifest
from xapi_ingest.lake.query import Snapshots, Zone, connect
from xapi_ingest.lake.schema import ANALYST_TABLE
from xapi_ingest.lake.store import Lake

DEFAULT_MEMORY_LIMIT = "512MB"
VOID_LEDGER = "void_ledger"


def _connect(lake: Lake, zone: Zone, work: Path, memory_limit: str,
             snapshots: Snapshots) -> duckdb.DuckDBPyConnection:
    if zone == "analyst" and snapshots[ANALYST_TABLE] is None and snapshots["statements"] is not None:
        raise ValueError(f"the analyst zone of {lake.name} is empty: run `xapi-pipeline publish --lake {lake.name}` "
                         "(needs XAPI_PSEUDONYM_KEY), or pass --zone restricted")
    con = connect(lake, zone, snapshots=snapshots)
    con.execute(f"SET memory_limit = {literal(memory_limit)}")
    con.execute(f"SET temp_directory = {literal(str(work / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:40] or "group"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def run_sequences(
    lake: Lake,
    scheme_path: Path | str,
    out_dir: Path | str,
    zone: Zone = "analyst",
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    language: Language | None = None,
) -> SequencesSummary:
    """Code the lake's statements with the scheme and write a new version under ``out_dir``.

    A run whose scheme, lake snapshots, language and results code match the latest version's
    reads no data and writes nothing (``new_version`` is false). Raises ``SchemeError`` for a
    bad scheme file and ``ValueError`` for data the scheme forbids (uncoded statements under
    ``uncoded: error``, transitions in declared structural zeros); no version is written then.
    """
    started = time.perf_counter()
    scheme_file = Path(scheme_path)
    scheme = load_scheme(scheme_file)
    out = Path(out_dir)
    snapshots = lake.snapshot_ids()
    read = {table: snapshots[table] for table in (_statements_table(zone), VOID_LEDGER)}
    scheme_sha256 = hashlib.sha256(scheme_file.read_bytes()).hexdigest()
    print_ = fingerprint(scheme_sha256, read, zone, language)
    with exclusive_versions(out):
        history = read_manifest(out)
        latest = history[-1] if history else None
        if latest is not None and latest.fingerprint == print_:
            previous = version_dir(out, latest.version) / "summary.json"
            return SequencesSummary.from_dict(json.loads(previous.read_text()), new_version=False,
                                              elapsed_seconds=round(time.perf_counter() - started, 3))
        version = latest.version + 1 if latest else 1
        run_id, computed_at = new_run_id()
        staging = staging_dir(out, run_id)
        try:
            summary = _analyse(lake, scheme, staging, version_dir(out, version), zone, memory_limit, snapshots,
                               language or scheme.reports.default_language)
            summary.version = version
            summary.elapsed_seconds = round(time.perf_counter() - started, 3)
            (staging / "summary.json").write_text(json.dumps(summary.as_dict(), indent=2, default=str) + "\n")
            record = SequencesVersion(
                version=version, run_id=run_id, computed_at=computed_at.isoformat(), fingerprint=print_,
                scheme_sha256=scheme_sha256, lake_snapshots=read, zone=zone,
                language=language, results_version=RESULTS_VERSION,
                supersedes_version=latest.version if latest else None)
            commit_version(out, staging, record)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return summary


def _statements_table(zone: Zone) -> str:
    return ANALYST_TABLE if zone == "analyst" else "statements"


def _analyse(lake: Lake, scheme: Scheme, out: Path, final: Path, zone: Zone, memory_limit: str,
             snapshots: Snapshots, language: Language) -> SequencesSummary:
    """Every analysis of one version, written into ``out`` (the staging folder that becomes ``final``):
    the cluster-wide report, then one per institution (``institutions/<id>/``) in its own language."""
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".work"
    work.mkdir()
    translators = []
    try:
        with _connect(lake, zone, work, memory_limit, snapshots) as con:
            t = translator(language)
            translators.append(t)
            counts, results = _analyse_scope(con, scheme, out, zone, t, t("Collaborative-scenario behaviour sequences"),
                                             ALL_ROWS)
            ids, note = _institutions(con, zone)
            institutions = []
            for institution_id in ids:  # each in its own language
                folder = out / "institutions" / _folder_name(institution_id)
                t = translator(scheme.reports.language_of(institution_id))
                translators.append(t)
                local_counts, _ = _analyse_scope(con, scheme, folder, zone, t,
                                                 t("Behaviour sequences: {institution}", institution=institution_id),
                                                 f"institution_id = {literal(institution_id)}")
                institutions.append({"institution_id": institution_id, "language": t.language,
                                     "report": str(final / folder.relative_to(out) / "report.html"),
                                     "in_scope": local_counts["in_scope"]})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SequencesSummary(
        out_dir=str(final), zone=zone, lake_snapshot_id=snapshots[_statements_table(zone)],
        statements=counts["statements"], voided=counts["voided"], out_of_scope=counts["out_of_scope"],
        in_scope=counts["in_scope"], without_unit=counts["without_unit"],
        dimensions=[_dimension_summary(r, scheme.threshold) for r in results],
        report=str(final / "report.html"), elapsed_seconds=0.0, language=language,
        untranslated=sorted(set().union(*(each.missing for each in translators))),
        institutions=institutions, notes=[note] if note else [],
        files=sorted([*(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()), "summary.json"]),
    )


def _analyse_scope(con: duckdb.DuckDBPyConnection, scheme: Scheme, out: Path, zone: Zone, t: Translator, title: str,
                   rows: str) -> tuple[dict[str, int], list[DimensionResult]]:
    """One report over the statements ``rows`` selects (all, or one institution's), written into ``out``.

    Passes over the data: one DuckDB scan for the counts, one sorted COPY of the coded events,
    one aggregate for the learner profiles, and one streaming tally.
    """
    out.mkdir(parents=True, exist_ok=True)
    coded = out / "coded_events.parquet"
    scope = con.execute(scope_counts_sql(scheme, rows)).fetchone()
    assert scope is not None, "an aggregate query returns one row"
    statements, voided, in_scope, without_unit = scope
    con.execute(without_unit_sql(scheme, scheme.examples, rows)).df().to_csv(out / "without_unit_examples.csv", index=False)
    con.execute(f"COPY ({coded_events_sql(scheme, rows)}) TO {literal(str(coded))} (FORMAT parquet, COMPRESSION zstd)")
    profiles = {d.id: _learner_profiles(con, coded, d) for d in scheme.dimensions}
    examples = {d.id: con.execute(uncoded_examples_sql(str(coded), d, scheme.examples)).df() for d in scheme.dimensions}
    counts = {"statements": statements, "voided": voided, "out_of_scope": statements - voided - in_scope,
              "in_scope": in_scope, "without_unit": without_unit}
    clusterings = {d.id: _cluster(scheme, profiles[d.id]) for d in scheme.dimensions}
    learner_clusters = {
        dimension_id: LearnerClusters(pa.array(c.eligible.index.astype(str).to_list(), pa.string()),
                                      c.outcome.labels, c.outcome.k)
        for dimension_id, c in clusterings.items()
        if c.outcome is not None and scheme.clusters.per_cluster_lsa
    }
    tally = tally_coded_events(coded, scheme, learner_clusters, out / "sequences.parquet")
    results = [_dimension_result(scheme, tally.dimensions[d.id], clusterings[d.id], examples[d.id], tally, out, t)
               for d in scheme.dimensions]
    write_report(out / "report.html", scheme, Scope(title, zone, counts), results, t)
    return counts, results


def _institutions(con: duckdb.DuckDBPyConnection, zone: Zone) -> tuple[list[str], str | None]:
    """The institutions to report on, or none and the one line that says why."""
    if zone != "analyst":
        return [], ("per-institution reports: the restricted zone has no institution_id (it is added when the analyst "
                    "zone is published with a roster); cluster-wide report only")
    if "institution_id" not in {row[0] for row in con.execute("DESCRIBE statements").fetchall()}:
        return [], ("per-institution reports: this analyst zone has no institution_id column (published before rosters): "
                    "run `xapi-pipeline publish --rebuild --roster ROSTER.csv`; cluster-wide report only")
    ids = [row[0] for row in con.execute(
        "SELECT DISTINCT institution_id FROM statements WHERE institution_id IS NOT NULL ORDER BY 1").fetchall()]
    if not ids:
        return [], ("per-institution reports: no statement in the analyst zone has an institution_id (publish with "
                    "--roster so the roster places each actor); cluster-wide report only")
    return ids, None


def _folder_name(institution_id: str) -> str:
    """The institution's folder: its id, with anything a file name cannot hold replaced."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", institution_id).lstrip(".")
    return name or "_"


def _learner_profiles(con: duckdb.DuckDBPyConnection, coded: Path, dimension: Dimension) -> pd.DataFrame:
    """Coded events per learner and code (learners × K), aggregated by DuckDB."""
    column = code_column(dimension)
    counts = con.execute(f"""
        SELECT learner, {column} AS code, count(*) AS n FROM read_parquet({literal(str(coded))})
        WHERE learner IS NOT NULL AND {column} IS NOT NULL GROUP BY ALL""").df()
    matrix = counts.pivot_table(index="learner", columns="code", values="n", fill_value=0, aggfunc="sum")
    return matrix.reindex(columns=list(dimension.code_names), fill_value=0).sort_index()


@dataclass(frozen=True)
class _Clustered:
    outcome: clustering.Clustering | None
    eligible: pd.DataFrame  # profile rows of the learners with enough coded events
    too_few_events: int


def _cluster(scheme: Scheme, matrix: pd.DataFrame) -> _Clustered:
    options = scheme.clusters
    eligible = matrix[matrix.sum(axis=1) >= options.min_events]
    outcome = None
    if options.enabled and not eligible.empty:
        outcome = clustering.cluster_learners(eligible.to_numpy(), options.k, options.k_max, options.ward_sample, options.seed)
    return _Clustered(outcome, eligible, len(matrix) - len(eligible))


def _dimension_result(
    scheme: Scheme, tally: DimensionTally, clustered: _Clustered, examples: pd.DataFrame, units: Tally, out: Path,
    t: Translator,
) -> DimensionResult:
    dimension = tally.dimension
    folder = out / dimension.id
    folder.mkdir(parents=True, exist_ok=True)
    codes = dimension.code_names
    reasons = dict(sorted(tally.uncoded.items()))
    pd.DataFrame(list(reasons.items()), columns=["reason", "statements"]).to_csv(folder / "uncoded.csv", index=False)
    examples.to_csv(folder / "uncoded_examples.csv", index=False)
    if reasons and scheme.uncoded == "error":
        raise ValueError(f"dimension {dimension.id!r}: {sum(reasons.values())} statement(s) in scope match no code "
                         f"({reasons}); see {folder / 'uncoded_examples.csv'} (set 'uncoded: gap' to analyse around them)")
    zeros = structural_zero_mask(codes, dimension.structural_zero_spec)
    result = analyse(tally.pooled, codes, scheme.lag, zeros)
    code_counts = tally.event_counts.tolist()
    diagram = _Diagram(scheme.threshold, [c.label_in(t.language) for c in dimension.codes], t)
    files = _write_result(result, diagram, folder, t("{dimension}: all units", dimension=dimension.label_in(t.language)),
                          code_counts)
    groups, homogeneity_groups = _compare_groups(scheme, tally, zeros, folder, diagram) if scheme.compare else ([], None)
    clusters = _cluster_outputs(scheme, tally, clustered, zeros, folder, diagram)
    return DimensionResult(
        dimension=dimension, n_events=tally.events, n_coded=tally.coded, uncoded_reasons=reasons, uncoded_examples=examples,
        n_units=units.units, n_single_event_units=units.single_event_units, pairs_lost_to_uncoded=tally.pairs_lost_to_uncoded,
        code_counts=code_counts, result=result, homogeneity_units=tally.homogeneity.test(tally.pooled), groups=groups,
        homogeneity_groups=homogeneity_groups, clusters=clusters, files=files,
    )


@dataclass(frozen=True)
class _Diagram:
    """How one report draws its diagrams: the threshold, the code labels and the language."""

    threshold: float
    labels: list[str]
    t: Translator


def _write_result(result: LsaResult, diagram: _Diagram, folder: Path, title: str, code_counts: list[int] | None) -> list[str]:
    threshold = diagram.threshold
    folder.mkdir(parents=True, exist_ok=True)
    document = {**result.as_dict(threshold), "residual_form": RESIDUAL_FORM_LABELS[result.residual_form],
                "threshold": threshold,
                "inhibited": [{"from": c.source, "to": c.target, "z": c.z} for c in result.inhibited(threshold)]}
    (folder / "lsa.json").write_text(json.dumps(document, indent=1) + "\n")
    for name in MATRICES:
        matrix_frame(result, name).to_csv(folder / f"{name}.csv")
    edge_frame(result, threshold).to_csv(folder / "transitions.csv", index=False)
    images = draw_transition_diagram(result, threshold, title, diagram.labels, code_counts, folder / "diagram", diagram.t)
    return [str(folder / "lsa.json"), *map(str, images)]


def _compare_groups(
    scheme: Scheme, tally: DimensionTally, zeros: np.ndarray, folder: Path, diagram: _Diagram,
) -> tuple[list[GroupResult], ChiSquare]:
    codes = tally.dimension.code_names
    taken: set[str] = set()
    groups = []
    across = Homogeneity(len(codes))
    for name, table in sorted(tally.group_tables.items()):
        result = analyse(table, codes, scheme.lag, zeros)
        across.add_table(table)
        files = _write_result(result, diagram, folder / "groups" / _slug(name, taken),
                              diagram.t("group {name}", name=name), None)
        groups.append(GroupResult(name, tally.group_units[name], result, files))
    if groups:
        side_by_side = pd.concat(
            [edge_frame(g.result, scheme.threshold).set_index(["from", "to"])["z"].rename(f"z {g.name}") for g in groups],
            axis=1)
        side_by_side.to_csv(folder / "groups" / "comparison.csv")
    return groups, across.test(tally.pooled)


def _cluster_outputs(
    scheme: Scheme, tally: DimensionTally, clustered: _Clustered, zeros: np.ndarray, folder: Path, diagram: _Diagram,
) -> ClusterReport | None:
    """Cluster tables and per-cluster analyses; None when clustering is off or too few learners qualify."""
    outcome, eligible = clustered.outcome, clustered.eligible
    if outcome is None:
        return None
    codes = tally.dimension.code_names
    target = folder / "clusters"
    target.mkdir(parents=True, exist_ok=True)
    proportions = pd.DataFrame(clustering.profiles(eligible.to_numpy(dtype=float)), index=eligible.index, columns=list(codes))
    proportions.insert(0, "cluster", outcome.labels)
    proportions.insert(1, "events", eligible.sum(axis=1).to_numpy())
    proportions.to_csv(target / "profiles.csv")
    centroids = pd.DataFrame(outcome.centroid_proportions, columns=list(codes), index=range(1, outcome.k + 1))
    centroids.insert(0, "learners", outcome.sizes)
    centroids.index.name = "cluster"
    centroids.loc["grand mean"] = [len(eligible), *outcome.grand_mean]
    centroids.to_csv(target / "centroids.csv")
    pd.DataFrame({"clusters": range(1, len(outcome.fusion_heights) + 1), "fusion_height": outcome.fusion_heights}) \
        .to_csv(target / "ward_fusion_heights.csv", index=False)
    per_cluster = []
    if tally.cluster_tables is not None:
        for cluster, table in enumerate(tally.cluster_tables, start=1):
            result = analyse(table, codes, scheme.lag, zeros)
            files = _write_result(result, diagram, target / f"cluster-{cluster}",
                                  diagram.t("cluster {cluster}: learners' own sequences", cluster=cluster), None)
            per_cluster.append(GroupResult(f"cluster {cluster}", int(outcome.sizes[cluster - 1]), result, files))
    return ClusterReport(outcome, len(eligible), clustered.too_few_events, per_cluster)


def _dimension_summary(result: DimensionResult, threshold: float) -> DimensionSummary:
    return DimensionSummary(
        id=result.dimension.id, events=result.n_events, coded=result.n_coded, uncoded=result.n_events - result.n_coded,
        units=result.n_units, transitions=result.result.n_transitions,
        significant=[{"from": c.source, "to": c.target, "z": round(c.z, 4)} for c in result.result.significant(threshold)],
        clusters_k=result.clusters.clustering.k if result.clusters else None,
    )
