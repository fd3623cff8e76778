"""Every CSV file a credit run writes, in one format a spreadsheet, pandas, DuckDB or a person reads alike.

The CSVs are for tools and for checking sums, so their headers are the code names (the same as
the Parquet files' columns and the policy reference); the workbook is the file people read, with
headers in the institution's language. The cells follow one convention in every file:

- moments are ISO 8601 in UTC with ``Z`` (``2025-03-10T15:00:00Z``);
- calendar days (naive midnight timestamps in the frames: period bounds, the last day of
  credited learning) are ``YYYY-MM-DD``;
- hours are rounded to the decimals of the policy's rounding step (0.25 h → 2 decimals), other
  decimals to 6, so no binary float noise (``27.825000000000003``) reaches a file;
- counts are integers, also where some are missing (an empty cell, never ``3.0``);
- lists are JSON arrays (``["id-1", "id-2"]``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

OTHER_DECIMALS = 6
_HOURS_NAMES = ("remaining_to_requirement",)


def is_hours(name: str) -> bool:
    """Columns holding hours: ``*hours*`` and the per-bucket ``credited_*`` totals."""
    return "hours" in name or name.startswith("credited_") or name in _HOURS_NAMES


def step_decimals(step: Decimal) -> int:
    """Decimals a multiple of ``step`` needs: 0.25 → 2, 0.5 → 1, 1 → 0."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _moments(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """``…T…Z``; fractions of a second only in columns that have them (Arrow's ``%S`` prints the unit's digits)."""
    utc = column.cast(pa.timestamp("us", tz="UTC"))
    if pc.all(pc.equal(pc.floor_temporal(utc, unit="second"), utc)).as_py() is not False:
        utc = utc.cast(pa.timestamp("s", tz="UTC"))
    return pc.binary_join_element_wise(pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S"), "Z", "")


def _cell_column(name: str, column: pa.ChunkedArray, hour_decimals: int) -> pa.ChunkedArray:
    """One column's cells in the file convention (see the module docstring)."""
    kind = column.type
    if pa.types.is_timestamp(kind) and kind.tz is None:
        if pc.all(pc.equal(pc.floor_temporal(column, unit="day"), column)).as_py() is not False:
            return pc.strftime(column, format="%Y-%m-%d")  # naive midnights are calendar days
        column = pc.assume_timezone(column, "UTC")
    if pa.types.is_timestamp(column.type):
        return _moments(column)
    if pa.types.is_date(kind):
        return pc.strftime(column, format="%Y-%m-%d")
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return pa.chunked_array([pa.array([None if v is None else json.dumps(v, ensure_ascii=False)
                                           for v in column.to_pylist()], pa.string())], pa.string())
    if pa.types.is_floating(kind):  # numpy, not pc.round: Arrow's round(11.7000…01, 2) is 1170 * 0.01 again
        rounded = np.round(column.to_numpy(), hour_decimals if is_hours(name) else OTHER_DECIMALS)
        return pa.chunked_array([pa.array(rounded, kind, mask=column.is_null().to_numpy(zero_copy_only=False))])
    return column


def csv_table(frame: pd.DataFrame | pa.Table, hours_step: Decimal) -> pa.Table:
    """The table as it is written: every column in the file convention."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    decimals = step_decimals(hours_step)
    columns = [_cell_column(name, table.column(name), decimals) for name in table.column_names]
    return pa.table(columns, names=table.column_names)


def write_csv(frame: pd.DataFrame | pa.Table, path: Path, hours_step: Decimal) -> None:
    """CSV through Arrow's writer: a ledger of a few hundred thousand rows in a second, not ten."""
    pacsv.write_csv(csv_table(frame, hours_step), path)
