"""Person identifiers inside free text of the analyst zone: found, and replaced by their pseudonyms.

The pseudonymized IFI columns are not the only place a person shows up: learners type their
e-mail into ``result.response``, producers put agents into extensions, course authors write
addresses into activity names. The rule, applied to every string column of the analyst twin
that is not already a pseudonym (and to each item of string-list columns):

* an e-mail address, with or without ``mailto:``, becomes the pseudonym of the ``mbox`` IFI
  ``mailto:<address>``: the same ``p_…`` the person gets as an actor, so joins still work;
* in the JSON text of extensions, every object that carries an IFI (``mbox``,
  ``mbox_sha1sum``, ``openid``, ``account``) is an Agent or Group: it is replaced by the
  pseudonym of its canonical IFI (so account names go too), and e-mail addresses in any other
  string value are replaced as above, whatever JSON escapes hid them;
* extension keys listed in ``XAPI_ANALYST_DROP_EXTENSIONS`` are removed with their values.

Only rows that could hold an identifier are parsed (a substring pre-filter in Arrow), so
clean columns cost one vectorized scan.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from xapi_ingest.lake.normalize import canonical_ifi

# Local part per RFC 5322's dot-atom characters; the domain needs a dot and a top-level label that
# starts with a letter, so "event-routing-backends@7.0.1" or "type@video" are not addresses. The
# pattern is valid for both Python's re and Arrow's RE2, which pre-filters rows in bulk.
_EMAIL_PATTERN = (r"(?:mailto:)?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
                  r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9])")
EMAIL = re.compile(_EMAIL_PATTERN)
JSON_COLUMNS = ("result_extensions", "context_extensions")
_IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
_JSON_SUSPECTS = ("\\u", *(f'"{key}"' for key in _IFI_KEYS))  # besides an address: escapes, agents


class FreeTextScrubber:
    """Replaces identifiers in free text by ``pseudonym(ifi)``; drops configured extension keys."""

    def __init__(self, pseudonym: Callable[[str], str], drop_extensions: Iterable[str] = ()) -> None:
        self._pseudonym = pseudonym
        self.drop_extensions = frozenset(drop_extensions)
        literals = (*_JSON_SUSPECTS, *(msgspec.json.encode(key).decode() for key in self.drop_extensions))
        self._json_suspects = "|".join(re.escape(literal) for literal in literals)

    def text(self, value: str) -> str:
        return EMAIL.sub(lambda match: self._pseudonym(f"mbox:mailto:{match.group(1).lower()}"), value)

    def json_text(self, value: str) -> str:
        return msgspec.json.encode(self._json_value(msgspec.json.decode(value), top=True)).decode()

    def _json_value(self, value: Any, *, top: bool = False) -> Any:
        if type(value) is str:
            return self.text(value)
        if type(value) is list:
            return [self._json_value(item) for item in value]
        if type(value) is not dict:
            return value
        if any(key in value for key in _IFI_KEYS) and (ifi := _ifi(value)):
            return self._pseudonym(ifi)
        return {self.text(key): self._json_value(item) for key, item in value.items()
                if not (top and key in self.drop_extensions)}

    def column(self, values: pa.ChunkedArray | pa.Array, *, is_json: bool) -> pa.Array:
        """The column with identifiers replaced; lists of strings item by item."""
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        if pa.types.is_list(values.type):
            flat = self.column(values.flatten(), is_json=False)
            return pa.ListArray.from_arrays(values.offsets, flat, mask=values.is_null())
        suspect = _has_address(values)
        if is_json:
            suspect = pc.or_(suspect, pc.fill_null(pc.match_substring_regex(values, self._json_suspects), False))
        if not pc.any(suspect).as_py():
            return values
        change = self.json_text if is_json else self.text
        cleaned = [change(value) if flagged and value is not None else value
                   for value, flagged in zip(values.to_pylist(), suspect.to_pylist(), strict=True)]
        return pa.array(cleaned, values.type)


def _ifi(agent: dict[str, Any]) -> str | None:
    """The canonical IFI of an agent-like extension value; None when its IFI is not text (not an agent)."""
    try:
        return canonical_ifi(agent)
    except (AttributeError, TypeError):  # e.g. {"mbox": 5}, {"openid": 42}: free-form data, scrubbed like any other
        return None


def _has_address(values: pa.Array) -> pa.Array:
    """Which values hold an e-mail address: a fast "@" scan, then the pattern on those rows only."""
    has_at = pc.fill_null(pc.match_substring(values, "@"), False)
    if not pc.any(has_at).as_py():
        return has_at
    matches = pc.fill_null(pc.match_substring_regex(values.filter(has_at), _EMAIL_PATTERN), False)
    return pc.replace_with_mask(has_at, has_at, matches)
