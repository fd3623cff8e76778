"""xAPI timestamps: one parser for the validator, the normalizer and the LRS client, one formatter.

Kept apart from the validator so that code which only needs a moment (paging, watermarks,
credit periods) does not depend on the statement rules.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?\Z"
)

def parse_timestamp(text: str) -> datetime | None:
    """Parse an xAPI timestamp into an aware UTC-or-offset datetime, or ``None`` if malformed.

    Timestamps without an offset (allowed by 1.0.3) are read as UTC. A leap second (``:60``)
    is folded into the next second's start, as databases do.
    """
    match = DATETIME.match(text)
    if match is None:
        return None
    return datetime_from_match(match)


def datetime_from_match(match: re.Match[str]) -> datetime | None:
    year, month, day, _, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    sec = int(second) if second else 0
    leap = sec == 60
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        if zulu or sign is None:
            tz = UTC
        else:
            offset = timedelta(hours=int(off_h), minutes=int(off_m or 0))
            tz = timezone(-offset if sign == "-" else offset)
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), 59 if leap else sec, micro, tz
        )
    except ValueError:
        return None
    return value + timedelta(seconds=1) if leap else value


def xapi_timestamp(moment: datetime) -> str:
    """UTC with microseconds and ``Z``: the form the Statements API's ``since``/``until`` take."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
