"""``run_sequences``: lake → coded events → sequences → LSA per dimension → diagrams, clusters, report.

DuckDB does every pass over the statements (coding, ordering, pair counting, profiles) and
spills to disk past ``memory_limit``; Python only ever holds aggregates: K×K tables, one row
per comparison group, one profile per learner. So memory does not grow with the lake.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from transforms.sequences import clusters as clustering
from transforms.sequences.coding import behaviours_sql, coded_events_sql, literal
from transforms.sequences.diagram import draw_transition_diagram
from transforms.sequences.homogeneity import homogeneity_test
from transforms.sequences.lsa import RESIDUAL_FORM_LABELS, ChiSquare, LsaResult, analyse, structural_zero_mask
from transforms.sequences.report import write_report
from transforms.sequences.scheme import Dimension, Scheme, load_scheme
from transforms.sequences.tables import MATRICES, edge_frame, matrix_frame
from xapi_ingest.lake import Lake
from xapi_ingest.query import Zone, connect

DEFAULT_MEMORY_LIMIT = "1GB"


@dataclass
class GroupResult:
    name: str
    n_units: int
    result: LsaResult
    files: list[str]


@dataclass
class ClusterReport:
    clustering: clustering.Clustering
    learners_clustered: int
    learners_too_few_events: int
    per_cluster: list[GroupResult]


@dataclass
class DimensionResult:
    dimension: Dimension
    n_events: int
    n_coded: int
    uncoded_reasons: dict[str, int]
    uncoded_examples: pd.DataFrame
    n_units: int
    n_single_event_units: int
    pairs_lost_to_uncoded: int
    code_counts: list[int]
    result: LsaResult
    homogeneity_units: ChiSquare
    groups: list[GroupResult]
    homogeneity_groups: ChiSquare | None
    clusters: ClusterReport | None
    cluster_note: str
    files: list[str]


@dataclass
class DimensionSummary:
    id: str
    events: int
    coded: int
    uncoded: int
    units: int
    transitions: int
    significant: list[dict[str, object]]
    clusters_k: int | None


@dataclass
class SequencesSummary:
    """What the ``sequences`` command prints and the analytics DAG records."""

    out_dir: str
    zone: str
    statements: int
    voided: int
    out_of_scope: int
    in_scope: int
    without_unit: int
    dimensions: list[DimensionSummary]
    report: str
    elapsed_seconds: float
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def describe(self) -> str:
        lines = [
            f"{self.statements} statements ({self.zone} zone): {self.in_scope} in scope, {self.out_of_scope} out of scope, "
            f"{self.voided} voided or voiding, {self.without_unit} in scope without a unit",
        ]
        for d in self.dimensions:
            shown = ", ".join(f"{s['from']}->{s['to']} (z={s['z']:.2f})" for s in d.significant) or "none"
            clusters = f"; {d.clusters_k} learner clusters" if d.clusters_k else ""
            lines.append(f"  {d.id}: {d.events} events in {d.units} units, {d.uncoded} uncoded, "
                         f"{d.transitions} transitions; significant: {shown}{clusters}")
        lines.append(f"report: {self.report}  ({self.elapsed_seconds:.1f} s)")
        return "\n".join(lines)


def _connect(lake_root: Path, zone: Zone, work: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    lake = Lake(lake_root)
    if zone == "analyst" and not lake.files(lake.analyst_dir) and lake.files(lake.statements_dir):
        raise ValueError(f"the analyst zone of {lake_root} is empty: run `xapi-pipeline publish --lake {lake_root}` "
                         "(needs XAPI_PSEUDONYM_KEY), or pass --zone restricted")
    con = connect(lake, zone)
    con.execute(f"SET memory_limit = {literal(memory_limit)}")
    con.execute(f"SET temp_directory = {literal(str(work / 'spill'))}")
    con.execute("SET preserve_insertion_order = false")
    return con


def _copy(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    con.execute(f"COPY ({query}) TO {literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:40] or "group"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def run_sequences(
    lake_root: Path | str,
    scheme_path: Path | str,
    out_dir: Path | str,
    zone: Zone = "analyst",
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
) -> SequencesSummary:
    """Code the lake's statements with the scheme and write every analysis under ``out_dir``.

    Raises ``SchemeError`` for a bad scheme file and ``ValueError`` for data the scheme forbids
    (uncoded statements under ``uncoded: error``, transitions in declared structural zeros).
    """
    started = time.perf_counter()
    scheme = load_scheme(Path(scheme_path))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        with _connect(Path(lake_root), zone, work, memory_limit) as con:
            behaviours = work / "behaviours.parquet"
            _copy(con, behaviours_sql(scheme), behaviours)
            counts = _scope_counts(con, f"read_parquet({literal(str(behaviours))})")
            _copy(con, coded_events_sql(scheme, f"read_parquet({literal(str(behaviours))})"), out / "coded_events.parquet")
            con.execute(f"CREATE VIEW coded AS SELECT * FROM read_parquet({literal(str(out / 'coded_events.parquet'))})")
            _copy(con, _SEQUENCES_SQL, out / "sequences.parquet")
            _write_without_unit(con, f"read_parquet({literal(str(behaviours))})", out, scheme.examples)
            results = [_analyse_dimension(con, scheme, dimension, out) for dimension in scheme.dimensions]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = write_report(out / "report.html", scheme, counts, results, zone)
    summary = SequencesSummary(
        out_dir=str(out), zone=zone, **counts,
        dimensions=[_dimension_summary(r, scheme.threshold) for r in results],
        report=str(report), elapsed_seconds=round(time.perf_counter() - started, 3),
        files=sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()),
    )
    (out / "summary.json").write_text(json.dumps(summary.as_dict(), indent=2, default=str) + "\n")
    return summary


_SEQUENCES_SQL = """
    SELECT dimension, unit_id, any_value(group_id) AS group_id, count(*) AS n_events, count(code) AS n_coded,
           list(code ORDER BY seq_index) AS codes, min(timestamp) AS started, max(timestamp) AS ended
    FROM coded GROUP BY dimension, unit_id ORDER BY dimension, unit_id
"""


def _scope_counts(con: duckdb.DuckDBPyConnection, behaviours: str) -> dict[str, int]:
    statements, voided = con.execute("""
        SELECT count(*),
               count(*) FILTER (WHERE voided_statement_id IS NOT NULL
                   OR statement_id IN (SELECT voided_statement_id FROM statements WHERE voided_statement_id IS NOT NULL))
        FROM statements""").fetchone()
    in_scope, without_unit = con.execute(f"SELECT count(*), count(*) FILTER (WHERE unit_id IS NULL) FROM {behaviours}").fetchone()
    return {"statements": statements, "voided": voided, "out_of_scope": statements - voided - in_scope,
            "in_scope": in_scope, "without_unit": without_unit}


def _write_without_unit(con: duckdb.DuckDBPyConnection, behaviours: str, out: Path, examples: int) -> None:
    frame = con.execute(f"SELECT statement_id, timestamp, verb_id, object_definition_type FROM {behaviours} "
                        f"WHERE unit_id IS NULL ORDER BY statement_id LIMIT {examples}").df()
    frame.to_csv(out / "without_unit_examples.csv", index=False)


def _analyse_dimension(con: duckdb.DuckDBPyConnection, scheme: Scheme, dimension: Dimension, out: Path) -> DimensionResult:
    folder = out / dimension.id
    folder.mkdir(parents=True, exist_ok=True)
    codes = dimension.code_names
    k = len(codes)
    code_index = pa.table({"code": list(codes), "i": list(range(k))})
    con.register("code_index", code_index)
    dim = literal(dimension.id)
    con.execute(f"CREATE OR REPLACE TEMP VIEW events AS SELECT * FROM coded WHERE dimension = {dim}")

    n_events, n_coded, n_units, n_single = con.execute(
        "SELECT count(*), count(code), count(DISTINCT unit_id), "
        "(SELECT count(*) FROM (SELECT unit_id FROM events GROUP BY unit_id HAVING count(*) = 1)) FROM events"
    ).fetchone()
    reasons = dict(con.execute("SELECT uncoded_reason, count(*) FROM events WHERE code IS NULL GROUP BY 1 ORDER BY 1").fetchall())
    examples = con.execute(
        f"SELECT statement_id, unit_id, seq_index, uncoded_reason, raw_value, verb_id, object_definition_type "
        f"FROM events WHERE code IS NULL ORDER BY unit_id, seq_index LIMIT {scheme.examples}").df()
    pd.DataFrame(sorted(reasons.items()), columns=["reason", "statements"]).to_csv(folder / "uncoded.csv", index=False)
    examples.to_csv(folder / "uncoded_examples.csv", index=False)
    if reasons and scheme.uncoded == "error":
        raise ValueError(f"dimension {dimension.id!r}: {sum(reasons.values())} statement(s) in scope match no code "
                         f"({reasons}); see {folder / 'uncoded_examples.csv'} (set 'uncoded: gap' to analyse around them)")

    lag = scheme.lag
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE unit_cells AS
        SELECT unit_id AS unit, any_value(group_id) AS group_id, ca.i AS a, cb.i AS b, count(*) AS x
        FROM (SELECT unit_id, group_id, code AS source,
                     lead(code, {lag}) OVER (PARTITION BY unit_id ORDER BY seq_index) AS target
              FROM events) p
        JOIN code_index ca ON ca.code = p.source JOIN code_index cb ON cb.code = p.target
        GROUP BY unit_id, ca.i, cb.i""")
    possible = con.execute(f"SELECT coalesce(sum(greatest(n - {lag}, 0)), 0) FROM "
                           "(SELECT count(*) AS n FROM events GROUP BY unit_id)").fetchone()[0]
    code_counts = _vector(
        con.execute("SELECT ci.i, count(*) FROM events JOIN code_index ci USING (code) GROUP BY 1").fetchall(), k)
    zeros = structural_zero_mask(codes, dimension.structural_zero_spec)
    result = analyse(_table(con, "SELECT a, b, sum(x) FROM unit_cells GROUP BY a, b", k), codes, lag, zeros)
    files = _write_result(result, scheme.threshold, folder, f"{dimension.label}: all units", code_counts)
    homogeneity_units = homogeneity_test(con, "unit_cells", k)

    groups, homogeneity_groups = _compare_groups(con, scheme, codes, zeros, folder) if scheme.compare else ([], None)
    clusters, note = _cluster(con, scheme, codes, zeros, folder)
    return DimensionResult(
        dimension=dimension, n_events=n_events, n_coded=n_coded, uncoded_reasons=reasons, uncoded_examples=examples,
        n_units=n_units, n_single_event_units=n_single, pairs_lost_to_uncoded=int(possible) - result.n_transitions,
        code_counts=code_counts, result=result, homogeneity_units=homogeneity_units, groups=groups,
        homogeneity_groups=homogeneity_groups, clusters=clusters, cluster_note=note, files=files,
    )


def _vector(rows: list[tuple[int, int]], k: int) -> list[int]:
    vector = [0] * k
    for i, count in rows:
        vector[i] = int(count)
    return vector


def _table(con: duckdb.DuckDBPyConnection, query: str, k: int) -> np.ndarray:
    table = np.zeros((k, k), dtype=np.int64)
    for a, b, x in con.execute(query).fetchall():
        table[a, b] = x
    return table


def _write_result(result: LsaResult, threshold: float, folder: Path, title: str, code_counts: list[int] | None) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    document = {**result.as_dict(threshold), "residual_form": RESIDUAL_FORM_LABELS[result.residual_form],
                "threshold": threshold,
                "inhibited": [{"from": c.source, "to": c.target, "z": c.z} for c in result.inhibited(threshold)]}
    (folder / "lsa.json").write_text(json.dumps(document, indent=1) + "\n")
    for name in MATRICES:
        matrix_frame(result, name).to_csv(folder / f"{name}.csv")
    edge_frame(result, threshold).to_csv(folder / "transitions.csv", index=False)
    images = draw_transition_diagram(result, threshold, title, code_counts, folder / "diagram")
    return [str(folder / "lsa.json"), *map(str, images)]


def _compare_groups(
    con: duckdb.DuckDBPyConnection, scheme: Scheme, codes: tuple[str, ...], zeros: np.ndarray, folder: Path
) -> tuple[list[GroupResult], ChiSquare]:
    k = len(codes)
    names = [row[0] for row in con.execute(
        "SELECT coalesce(group_id, '(none)') FROM unit_cells GROUP BY 1 ORDER BY 1").fetchall()]
    taken: set[str] = set()
    groups = []
    for name in names:
        condition = "group_id IS NULL" if name == "(none)" else f"group_id = {literal(name)}"
        table = _table(con, f"SELECT a, b, sum(x) FROM unit_cells WHERE {condition} GROUP BY a, b", k)
        n_units = con.execute(f"SELECT count(DISTINCT unit) FROM unit_cells WHERE {condition}").fetchone()[0]
        result = analyse(table, codes, scheme.lag, zeros)
        files = _write_result(result, scheme.threshold, folder / "groups" / _slug(name, taken), f"group {name}", None)
        groups.append(GroupResult(name, n_units, result, files))
    con.execute("CREATE OR REPLACE TEMP VIEW group_cells AS SELECT coalesce(group_id, '(none)') AS unit, a, b, x FROM unit_cells")
    if groups:
        side_by_side = pd.concat(
            [edge_frame(g.result, scheme.threshold).set_index(["from", "to"])["z"].rename(f"z {g.name}") for g in groups],
            axis=1)
        side_by_side.to_csv(folder / "groups" / "comparison.csv")
    return groups, homogeneity_test(con, "group_cells", k)


def _cluster(
    con: duckdb.DuckDBPyConnection, scheme: Scheme, codes: tuple[str, ...], zeros: np.ndarray, folder: Path
) -> tuple[ClusterReport | None, str]:
    options = scheme.clusters
    if not options.enabled:
        return None, "clustering is disabled in the scheme"
    k = len(codes)
    counts = con.execute("""
        SELECT learner, ci.i, count(*) AS n FROM events JOIN code_index ci USING (code)
        WHERE learner IS NOT NULL GROUP BY learner, ci.i ORDER BY learner""").df()
    if counts.empty:
        return None, "no coded events with a learner"
    matrix = counts.pivot_table(index="learner", columns="i", values="n", fill_value=0, aggfunc="sum")
    matrix = matrix.reindex(columns=range(k), fill_value=0)
    eligible = matrix[matrix.sum(axis=1) >= options.min_events]
    outcome = clustering.cluster_learners(eligible.to_numpy(), options.k, options.k_max, options.ward_sample, options.seed)
    if outcome is None:
        return None, f"too few learners with at least {options.min_events} coded events ({len(eligible)})"
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
    if options.per_cluster_lsa:
        con.register("assignment", pa.table({"learner": eligible.index.to_numpy(dtype=object).astype(str),
                                             "cluster": outcome.labels.astype(np.int64)}))
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE cluster_cells AS
            SELECT s.cluster, ca.i AS a, cb.i AS b, count(*) AS x
            FROM (SELECT learner, code AS source,
                         lead(code, {scheme.lag}) OVER (PARTITION BY unit_id, learner ORDER BY seq_index) AS target
                  FROM events) p
            JOIN assignment s USING (learner)
            JOIN code_index ca ON ca.code = p.source JOIN code_index cb ON cb.code = p.target
            GROUP BY ALL""")
        for cluster in range(1, outcome.k + 1):
            table = _table(con, f"SELECT a, b, x FROM cluster_cells WHERE cluster = {cluster}", k)
            result = analyse(table, codes, scheme.lag, zeros)
            files = _write_result(result, scheme.threshold, target / f"cluster-{cluster}",
                                  f"cluster {cluster}: learners' own sequences", None)
            per_cluster.append(GroupResult(f"cluster {cluster}", int(outcome.sizes[cluster - 1]), result, files))
    return ClusterReport(outcome, len(eligible), len(matrix) - len(eligible), per_cluster), clustering.DESIGN_LABEL


def _dimension_summary(result: DimensionResult, threshold: float) -> DimensionSummary:
    return DimensionSummary(
        id=result.dimension.id, events=result.n_events, coded=result.n_coded, uncoded=result.n_events - result.n_coded,
        units=result.n_units, transitions=result.result.n_transitions,
        significant=[{"from": c.source, "to": c.target, "z": round(c.z, 4)} for c in result.result.significant(threshold)],
        clusters_k=result.clusters.clustering.k if result.clusters else None,
    )
