"""Expectation suites: plain GX 1.x JSON files, checked before any data is.

The suites live in the repository's ``expectations/`` folder (one per table), reviewed like
code, and ship inside the package (``xapi_ingest/quality/expectations`` links to that folder),
so an installed deployment has them without a checkout; ``XAPI_EXPECTATIONS`` points at
another folder. Every entry carries GX's ``severity`` and a ``meta.check`` name that messages
and holds refer to.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from great_expectations.core import ExpectationSuite
from great_expectations.exceptions import GreatExpectationsError
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from xapi_ingest.common.config import field_path
from xapi_ingest.quality.data_docs_severity import with_severity_note

SHIPPED_SUITES = Path(__file__).resolve().parent / "expectations"
Severity = Literal["critical", "warning"]


def default_suite_path(table: str = "statements") -> Path:
    """The suite shipped with the package (the repository's ``expectations/`` folder)."""
    return SHIPPED_SUITES / f"{table}.json"


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and the offending entry."""


class _Meta(BaseModel):
    model_config = ConfigDict(extra="allow")
    check: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")


class _Entry(BaseModel):
    # GX's own keys (id, description, result_format…) pass through untouched.
    model_config = ConfigDict(extra="allow")
    type: str
    kwargs: dict[str, Any]
    severity: Severity
    meta: _Meta
    notes: str | list[str] | None = None


class _SuiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    meta: dict[str, Any] = Field(default_factory=dict)
    expectations: list[_Entry] = Field(min_length=1)
    notes: str | list[str] | None = None
    id: str | None = None

    @field_validator("expectations")
    @classmethod
    def _unique_checks(cls, entries: list[_Entry]) -> list[_Entry]:
        names = [entry.meta.check for entry in entries]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"meta.check names must be unique; repeated: {', '.join(repeated)}")
        return entries


@dataclass(frozen=True)
class Suite:
    """A validated suite file: what GX needs, plus the check name and severity of each entry."""

    name: str
    path: Path
    entries: tuple[dict[str, Any], ...]

    @property
    def columns(self) -> set[str]:
        """Every column an expectation reads (so only those are handed to GX)."""
        names: set[str] = set()
        for entry in self.entries:
            kwargs = entry["kwargs"]
            names.update(kwargs[key] for key in ("column", "column_A", "column_B") if key in kwargs)
            names.update(kwargs.get("column_list", ()))
        return names

    def gx_suite(self) -> ExpectationSuite:
        """A fresh GX suite (GX binds a suite to one context, so each run gets its own)."""
        return ExpectationSuite(name=self.name, expectations=[with_severity_note(entry) for entry in self.entries])


def load_suite(path: Path | str | None = None) -> Suite:
    """Read and check a suite file; every problem is reported against the file and the entry."""
    path = Path(path) if path is not None else default_suite_path()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the suite: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise SuiteError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    try:
        model = _SuiteFile.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(_describe_error(document, error) for error in exc.errors())
        raise SuiteError(f"{path}: {problems}") from exc
    entries = []
    for index, entry in enumerate(model.expectations):
        raw = entry.model_dump(exclude_none=True)
        try:  # GX itself only logs an invalid expectation and drops it; here it is an error
            ExpectationConfiguration(**raw).to_domain_obj()
        except (GreatExpectationsError, TypeError, ValueError) as exc:
            raise SuiteError(f"{path}: expectations[{index}] ({entry.meta.check}): {exc}") from exc
        entries.append(raw)
    return Suite(model.name, path, tuple(entries))


def _describe_error(document: Any, error: Any) -> str:
    location = error["loc"]
    where = field_path(location)
    if len(location) >= 2 and location[0] == "expectations" and isinstance(location[1], int):
        with contextlib.suppress(KeyError, TypeError, IndexError):
            where += f" (check {document['expectations'][location[1]]['meta']['check']})"
    return f"{where or 'suite'}: {error['msg']}"
