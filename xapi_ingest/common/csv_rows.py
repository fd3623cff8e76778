"""Read a CSV file into validated row models, collecting every bad row before failing.

The registry and the roster are kept by people in spreadsheets; a message per bad cell
(file, line, column) lets them fix the whole file in one pass.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from xapi_ingest.common.config import ConfigError, row_errors

Row = TypeVar("Row", bound=BaseModel)
MAX_REPORTED = 50


def read_rows(path: Path, model: type[Row]) -> list[tuple[int, Row]]:
    """(line, row) pairs; empty cells are read as missing values."""
    rows: list[tuple[int, Row]] = []
    problems: list[str] = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None:
            raise ConfigError(f"{path}:1: the file is empty (a header row is required)")
        unknown = sorted(set(reader.fieldnames) - set(model.model_fields))
        missing = sorted(name for name, field in model.model_fields.items()
                         if field.is_required() and name not in reader.fieldnames)
        if unknown or missing:
            raise ConfigError(f"{path}:1: header: unknown column(s) {unknown}, missing required column(s) {missing}")
        for record in reader:
            line = reader.line_num
            if None in record:
                problems.append(f"{path}:{line}: (row): more cells than header columns")
                continue
            try:
                rows.append((line, model.model_validate({k: v for k, v in record.items() if v not in ("", None)})))
            except ValidationError as exc:
                problems.extend(row_errors(path, line, exc))
    if problems:
        more = f"\n... and {len(problems) - MAX_REPORTED} more" if len(problems) > MAX_REPORTED else ""
        raise ConfigError("\n".join(problems[:MAX_REPORTED]) + more)
    return rows


def split_list(value: object) -> object:
    """Multi-valued cells are space-separated: IRIs never contain spaces, while commas, semicolons
    and '|' all occur in real IRIs and canonical IFIs (``account:<homePage>|<name>``)."""
    if isinstance(value, str):
        return value.split()
    return value
