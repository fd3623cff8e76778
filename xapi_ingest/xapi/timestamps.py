"""xAPI timestamps: one parser for the validator, the normalizer and the LRS client, one formatter.

Kept apart from the validator so that code which only needs a moment (paging, watermarks,
credit periods) does not depend on the statement rules.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# ISO 8601 date-times, extended (2026-01-01T08:00:00Z) or basic (20260101T080000Z) format, never
# mixed, with the time reduced to hours or minutes; the validator narrows this per xAPI version.
DATETIME = re.compile(
    r"(?P<year>\d{4})(?P<extended>-)?(?P<month>\d{2})(?(extended)-)(?P<day>\d{2})(?P<separator>[Tt ])"
    r"(?P<hour>\d{2})(?:(?(extended):)(?P<minute>\d{2})(?:(?(extended):)(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?"
    r"(?:(?P<zulu>[Zz])|(?P<sign>[+-])(?P<offset_hour>\d{2})(?:(?(extended):?)(?P<offset_minute>\d{2}))?)?\Z"
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
    year, _, month, day, _, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
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
            int(year), int(month), int(day), int(hour), int(minute or 0), 59 if leap else sec, micro, tz
        )
    except ValueError:
        return None
    return value + timedelta(seconds=1) if leap else value


def xapi_timestamp(moment: datetime) -> str:
    """UTC with microseconds and ``Z``: the form the Statements API's ``since``/``until`` take."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
