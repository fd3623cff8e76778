"""The roster: who each teacher is on every platform, and which institution they belong to when.

Identity resolution is an exact lookup of canonical IFIs (the lake's ``actor_ifi`` form), never
a guess: an actor that matches no roster IFI is reported as unmatched. An ``mbox`` entry also
matches its ``mbox_sha1sum`` form, because some platforms send only the hash. Credit reads it to
credit teachers; publishing reads it to give analysts a teacher key (no name, no teacher id).
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, field_validator

from xapi_ingest.common.config import ConfigError
from xapi_ingest.common.csv_rows import read_rows, split_list

_FAR_FUTURE = date(9999, 12, 31)
_IFI_PREFIXES = ("mbox:mailto:", "mbox_sha1sum:", "openid:", "account:")


class RosterRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    teacher_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # names the statement-of-participation file
    display_name: str = Field(min_length=1)
    institution_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")  # becomes a folder name
    ifis: list[str] = Field(min_length=1)
    member_from: date
    member_to: date | None = None
    pd_cycle_start: date

    _split = field_validator("ifis", mode="before")(split_list)

    @field_validator("ifis")
    @classmethod
    def _canonical(cls, values: list[str]) -> list[str]:
        for value in values:
            if not value.startswith(_IFI_PREFIXES):
                raise ValueError(f"{value!r} is not a canonical IFI "
                                 "(mbox:mailto:…, mbox_sha1sum:…, openid:…, account:<homePage>|<name>)")
        return [value.lower() if value.startswith("mbox") else value for value in values]


def ifi_variants(ifi: str) -> list[str]:
    if ifi.startswith("mbox:"):
        return [ifi, "mbox_sha1sum:" + hashlib.sha1(ifi[len("mbox:"):].encode()).hexdigest()]
    return [ifi]


def load_roster(path: Path | str) -> tuple[pa.Table, pa.Table]:
    """(identities: ifi → teacher_id, memberships: teacher × institution × date range)."""
    path = Path(path)
    rows = read_rows(path, RosterRow)
    problems: list[str] = []
    owner: dict[str, tuple[str, int]] = {}
    cycles: dict[str, tuple[date, int]] = {}
    for line, row in rows:
        for ifi in row.ifis:
            for variant in ifi_variants(ifi):
                teacher, first = owner.setdefault(variant, (row.teacher_id, line))
                if teacher != row.teacher_id:
                    problems.append(f"{path}:{line}: ifis: {ifi} already belongs to {teacher} (line {first})")
        cycle, first = cycles.setdefault(row.teacher_id, (row.pd_cycle_start, line))
        if cycle != row.pd_cycle_start:
            problems.append(f"{path}:{line}: pd_cycle_start: differs from line {first} for {row.teacher_id}")
        if row.member_to is not None and row.member_to <= row.member_from:
            problems.append(f"{path}:{line}: member_to: must be after member_from")
    if problems:
        raise ConfigError("\n".join(problems))
    identities = pa.table({"ifi": list(owner), "teacher_id": [teacher for teacher, _ in owner.values()]})
    memberships = pa.Table.from_pylist(
        [{"teacher_id": row.teacher_id, "display_name": row.display_name, "institution_id": row.institution_id,
          "member_from": row.member_from, "member_to": row.member_to or _FAR_FUTURE, "pd_cycle_start": row.pd_cycle_start}
         for _, row in rows],
        schema=pa.schema([("teacher_id", pa.string()), ("display_name", pa.string()), ("institution_id", pa.string()),
                          ("member_from", pa.date32()), ("member_to", pa.date32()), ("pd_cycle_start", pa.date32())]),
    )
    return identities, memberships
