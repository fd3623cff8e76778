"""One streaming pass over the coded events: every count the analysis needs, unit by unit.

DuckDB writes the coded events sorted by (unit, position); this module reads them back in
record batches, holds back the last (possibly incomplete) unit of each batch for the next one,
and counts with the vectorized core: pooled lag tables, per-group and per-cluster tables, the
homogeneity sums, uncoded statements, and the per-unit sequences file. Memory is one batch,
whatever the size of the lake.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from transforms.sequences.coding import UNCODED_NO_RULE, UNCODED_NOT_A_CODE, code_column, raw_column
from transforms.sequences.homogeneity import Homogeneity
from transforms.sequences.scheme import Dimension, Scheme

BATCH_ROWS = 262_144


@dataclass(frozen=True)
class LearnerClusters:
    """Cluster labels 1..k of the clustered learners (others are left out of per-cluster tables)."""

    learners: pa.Array
    labels: np.ndarray
    k: int


@dataclass
class DimensionTally:
    dimension: Dimension
    lag: int
    clusters: LearnerClusters | None = None
    pooled: np.ndarray = field(init=False)
    event_counts: np.ndarray = field(init=False)
    homogeneity: Homogeneity = field(init=False)
    group_tables: dict[str, np.ndarray] = field(default_factory=dict)
    group_units: dict[str, int] = field(default_factory=dict)
    cluster_tables: np.ndarray | None = None
    uncoded: dict[str, int] = field(default_factory=dict)
    pairs_lost_to_uncoded: int = 0
    events: int = 0

    def __post_init__(self) -> None:
        k = len(self.dimension.codes)
        self.pooled = np.zeros((k, k), dtype=np.int64)
        self.event_counts = np.zeros(k, dtype=np.int64)
        self.homogeneity = Homogeneity(k)
        if self.clusters is not None:
            self.cluster_tables = np.zeros((self.clusters.k, k, k), dtype=np.int64)

    @property
    def coded(self) -> int:
        return int(self.event_counts.sum())


@dataclass
class Tally:
    scheme: Scheme
    dimensions: dict[str, DimensionTally]
    units: int = 0
    single_event_units: int = 0


def _runs(units: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(run id per row, start row of each run): a run is one unit's contiguous rows."""
    n = len(units)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = pc.not_equal(units.slice(1), units.slice(0, n - 1)).to_numpy(zero_copy_only=False)
    return np.cumsum(starts) - 1, np.flatnonzero(starts)


def _complete_units(path: Path, columns: list[str]) -> Iterator[pa.Table]:
    """Batches that hold whole units only: the trailing unit waits for the rest of its rows."""
    carry: pa.Table | None = None
    previous_last: str | None = None
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS, columns=columns):
        table = pa.Table.from_batches([batch])
        if carry is not None:
            table = pa.concat_tables([carry, table])
        units = table["unit_id"].combine_chunks()
        if len(units) > 1 and pc.any(pc.less(units.slice(1), units.slice(0, len(units) - 1))).as_py():
            raise RuntimeError(f"{path} is not sorted by unit: cannot tally it in one pass")
        if previous_last is not None and units[0].as_py() < previous_last:
            raise RuntimeError(f"{path} is not sorted by unit: cannot tally it in one pass")
        _, starts = _runs(units)
        last = int(starts[-1])
        carry = table.slice(last)
        if last:
            previous_last = units[last - 1].as_py()
            yield table.slice(0, last)
    if carry is not None and carry.num_rows:
        yield carry


def _code_index(values: pa.ChunkedArray, codes: tuple[str, ...]) -> np.ndarray:
    index = pc.index_in(values, value_set=pa.array(codes, pa.string()))
    return pc.fill_null(index, -1).to_numpy().astype(np.int64)


def tally_coded_events(
    path: Path, scheme: Scheme, clusters: Mapping[str, LearnerClusters | None], sequences_path: Path
) -> Tally:
    """Count everything from the sorted coded-events file and write the per-unit sequences file."""
    result = Tally(scheme, {d.id: DimensionTally(d, scheme.lag, clusters.get(d.id)) for d in scheme.dimensions})
    columns = ["unit_id", "group_id", "learner", "timestamp"]  # only what is counted: strings are costly to read
    columns += [name for d in scheme.dimensions for name in (code_column(d), raw_column(d))]
    writer: pq.ParquetWriter | None = None
    try:
        for table in _complete_units(path, columns):
            run, starts = _runs(table["unit_id"].combine_chunks())
            lengths = np.diff(np.append(starts, table.num_rows))
            result.units += len(starts)
            result.single_event_units += int(np.sum(lengths == 1))
            for dimension in scheme.dimensions:
                _tally_dimension(result.dimensions[dimension.id], table, run, starts)
            sequences = _sequences_table(table, starts, lengths, scheme.dimensions)
            if writer is None:
                writer = pq.ParquetWriter(sequences_path, sequences.schema, compression="zstd")
            writer.write_table(sequences)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        empty = pq.ParquetFile(path).schema_arrow.empty_table()
        pq.write_table(_sequences_table(empty, np.zeros(0, np.int64), np.zeros(0, np.int64), scheme.dimensions), sequences_path)
    return result


def _tally_dimension(tally: DimensionTally, table: pa.Table, run: np.ndarray, starts: np.ndarray) -> None:
    d, lag, k = tally.dimension, tally.lag, len(tally.dimension.codes)
    code = _code_index(table[code_column(d)], d.code_names)
    raw_missing = table[raw_column(d)].is_null().to_numpy(zero_copy_only=False)
    tally.events += len(code)
    tally.event_counts += np.bincount(code[code >= 0], minlength=k)
    uncoded = code < 0
    for reason, rows in ((UNCODED_NO_RULE, uncoded & raw_missing), (UNCODED_NOT_A_CODE, uncoded & ~raw_missing)):
        count = int(rows.sum())
        if count:
            tally.uncoded[reason] = tally.uncoded.get(reason, 0) + count

    same_unit = run[lag:] == run[:-lag]
    source, target = code[:-lag], code[lag:]
    counted = same_unit & (source >= 0) & (target >= 0)
    tally.pairs_lost_to_uncoded += int(np.sum(same_unit & ~counted))
    cells = source[counted] * k + target[counted]
    tally.pooled += np.bincount(cells, minlength=k * k).reshape(k, k)
    pair_unit = run[:-lag][counted]
    tally.homogeneity.add_pairs(pair_unit, source[counted], target[counted])

    groups = table["group_id"].combine_chunks().take(pa.array(starts))  # a unit belongs to its first statement's group
    names = pc.fill_null(groups, "(none)").to_pylist()
    unique_names = sorted(set(names))
    position = {name: g for g, name in enumerate(unique_names)}
    group_of_run = np.array([position[n] for n in names], dtype=np.int64)
    per_group = np.bincount(group_of_run[pair_unit] * k * k + cells, minlength=len(unique_names) * k * k)
    units_per_group = np.bincount(group_of_run, minlength=len(unique_names))
    for g, name in enumerate(unique_names):
        tally.group_units[name] = tally.group_units.get(name, 0) + int(units_per_group[g])
        table_g = per_group[g * k * k:(g + 1) * k * k].reshape(k, k)
        tally.group_tables[name] = tally.group_tables.get(name, np.zeros((k, k), np.int64)) + table_g

    if tally.clusters is not None and tally.cluster_tables is not None:
        _tally_clusters(tally, table, run, code)


def _tally_clusters(tally: DimensionTally, table: pa.Table, run: np.ndarray, code: np.ndarray) -> None:
    """Pairs within each learner's own sequence inside a unit, summed per learner cluster."""
    clusters, lag, k = tally.clusters, tally.lag, len(tally.dimension.codes)
    assert clusters is not None and tally.cluster_tables is not None, "called only when clusters are tallied"
    learner = pc.fill_null(pc.index_in(table["learner"], value_set=clusters.learners), -1).to_numpy().astype(np.int64)
    order = np.argsort(run * (len(clusters.labels) + 1) + learner + 1, kind="stable")  # keeps time order inside
    key = (run * (len(clusters.labels) + 1) + learner + 1)[order]
    learner, code = learner[order], code[order]
    source, target = code[:-lag], code[lag:]
    counted = (key[lag:] == key[:-lag]) & (learner[:-lag] >= 0) & (source >= 0) & (target >= 0)
    cluster = clusters.labels[learner[:-lag][counted]] - 1
    cells = (cluster * k + source[counted]) * k + target[counted]
    tally.cluster_tables += np.bincount(cells, minlength=clusters.k * k * k).reshape(clusters.k, k, k)


def _sequences_table(table: pa.Table, starts: np.ndarray, lengths: np.ndarray, dimensions: list[Dimension]) -> pa.Table:
    """One row per unit: its group, size, time span and, per dimension, the code list (null = uncoded)."""
    take = pa.array(starts.astype(np.int64))
    ends = pa.array((starts + lengths - 1).astype(np.int64))
    offsets = pa.array(np.append(starts, starts[-1] + lengths[-1] if len(starts) else 0).astype(np.int32))
    columns = {
        "unit_id": table["unit_id"].combine_chunks().take(take),
        "group_id": table["group_id"].combine_chunks().take(take),
        "n_events": pa.array(lengths.astype(np.int64)),
        "first_timestamp": table["timestamp"].combine_chunks().take(take),
        "last_timestamp": table["timestamp"].combine_chunks().take(ends),
    }
    for d in dimensions:
        values = table[code_column(d)].combine_chunks().cast(pa.string())
        columns[f"codes_{d.id.replace('-', '_')}"] = pa.ListArray.from_arrays(offsets, values)
    return pa.table(columns)
