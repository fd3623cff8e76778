"""Pseudonymization and publishing of the analyst-facing zone.

Analysts get every column they need for learning analytics, but no raw JSON, no names, and a
keyed pseudonym (HMAC-SHA256) in place of each person's IFI. The key lives outside the lake
(an environment variable, or an Airflow connection's password), so the lake alone cannot be
re-identified. An ``mbox`` is hashed to its ``mbox_sha1sum`` form before keying, so a teacher
known by email on one platform and by the email's SHA-1 on another gets one pseudonym. Accounts
that share nothing (a Moodle user id, an Open edX username) are joined only through the roster:
published with one, each statement also carries the teacher key and institution
(:mod:`~xapi_ingest.publish.teachers`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.expressions import AlwaysTrue

from xapi_ingest.common.defaults import PSEUDONYM_KEY_ENV as KEY_ENV
from xapi_ingest.lake.holds import BatchHolds, BatchInventory, CommittedBatch
from xapi_ingest.lake.ledger import ConcurrentChange
from xapi_ingest.lake.schema import ANALYST_DROPPED, ANALYST_PSEUDONYMIZED, ANALYST_TEACHER_COLUMNS, TABLES
from xapi_ingest.lake.schema import ANALYST_TABLE as ANALYST
from xapi_ingest.lake.store import Lake
from xapi_ingest.publish.free_text import JSON_COLUMNS, FreeTextScrubber
from xapi_ingest.publish.teachers import RosterLookup

log = logging.getLogger(__name__)

_MIN_KEY_BYTES = 16


class MissingKeyError(RuntimeError):
    pass


def load_key(key: str | None) -> bytes:
    """The pseudonym key as bytes; refuses a missing or short key."""
    key = key or ""
    if len(key.encode()) < _MIN_KEY_BYTES:
        raise MissingKeyError(
            f"set {KEY_ENV} to a secret of at least {_MIN_KEY_BYTES} bytes "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) to publish the analyst zone"
        )
    return key.encode()


def person_key(ifi: str) -> str:
    """The identity a pseudonym is computed from: mbox is folded into its SHA-1 form."""
    if ifi.startswith("mbox:"):
        return "mbox_sha1sum:" + hashlib.sha1(ifi[len("mbox:"):].encode()).hexdigest()
    return ifi


class Pseudonymizer:
    def __init__(self, key: bytes, drop_extensions: Iterable[str] = (), roster: RosterLookup | None = None) -> None:
        self._key = key
        self.free_text = FreeTextScrubber(self.pseudonym, drop_extensions)
        self.roster = roster
        # Identifies the key (not secret): tells which analyst files were made with which key.
        self.key_id = hashlib.sha256(b"key-id:" + key).hexdigest()[:12]

    def _keyed(self, identity: str) -> str:
        return hmac.new(self._key, identity.encode(), hashlib.sha256).hexdigest()[:32]

    def pseudonym(self, ifi: str) -> str:
        return "p_" + self._keyed(person_key(ifi))

    def teacher_key(self, teacher_id: str) -> str:
        """The analysts' name for a roster teacher. Keyed input starts with ``teacher:``, which no
        IFI does, so a teacher key never equals a person's pseudonym (nor does its ``t_`` prefix)."""
        return "t_" + self._keyed("teacher:" + teacher_id)

    def strings(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Pseudonymize a string column, computing each distinct IFI once."""
        return _each_distinct(values, self.pseudonym)

    def column(self, values: pa.ChunkedArray) -> pa.Array:
        values = values.combine_chunks()
        if pa.types.is_list(values.type):
            flat = self.strings(values.flatten())
            return pa.ListArray.from_arrays(values.offsets, flat, mask=values.is_null())
        return self.strings(values)

    def table(self, table: pa.Table) -> pa.Table:
        """The analyst version of a restricted statements table."""
        ifis, days = table["actor_ifi"], pc.cast(table["timestamp"], pa.date32())
        table = table.drop_columns([c for c in ANALYST_DROPPED if c in table.column_names])
        for name in ANALYST_PSEUDONYMIZED:
            table = table.set_column(table.schema.get_field_index(name), table.schema.field(name),
                                     self.column(table[name]))
        is_person = pc.is_in(table["object_type"], value_set=pa.array(["Agent", "Group"]))
        object_id = table["object_id"].combine_chunks()
        person_ids = pc.if_else(is_person, object_id, pa.scalar(None, pa.string()))
        table = table.set_column(
            table.schema.get_field_index("object_id"), table.schema.field("object_id"),
            pc.if_else(is_person, self.strings(person_ids), object_id),
        )
        return self._with_teachers(self._scrub_free_text(table), ifis, days)

    def _with_teachers(self, table: pa.Table, ifis: pa.ChunkedArray, days: pa.ChunkedArray) -> pa.Table:
        """Add the teacher key and institution of each actor the roster knows (null columns without a roster)."""
        if self.roster is None:
            columns = [pa.nulls(table.num_rows, pa.string())] * len(ANALYST_TEACHER_COLUMNS)
        else:
            teacher_ids = self.roster.teacher_ids(ifis)
            columns = [_each_distinct(teacher_ids, self.teacher_key), self.roster.institutions(teacher_ids, days)]
        for (name, dtype, _), column in zip(ANALYST_TEACHER_COLUMNS, columns, strict=True):
            table = table.append_column(pa.field(name, dtype), column)
        return table

    def _scrub_free_text(self, table: pa.Table) -> pa.Table:
        """Identifiers in every other text column become pseudonyms too (:mod:`~xapi_ingest.publish.free_text`)."""
        for index, field in enumerate(table.schema):
            text = field.type if not pa.types.is_list(field.type) else field.type.value_type
            if pa.types.is_string(text) and field.name not in ANALYST_PSEUDONYMIZED:
                scrubbed = self.free_text.column(table[field.name], is_json=field.name in JSON_COLUMNS)
                table = table.set_column(index, field, scrubbed)
        return table


def _each_distinct(values: pa.Array | pa.ChunkedArray, function: Callable[[str], str]) -> pa.Array:
    """``function`` of each string (nulls stay null), computed once per distinct value."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    distinct = pc.unique(values.drop_null())
    mapped = pa.array([function(v) for v in distinct.to_pylist()], pa.string())
    return pc.take(mapped, pc.index_in(values, value_set=distinct))


ROWS_PER_COMMIT = 100_000  # bounds memory: batches are published in groups of about this many rows


def publish(lake: Lake, pseudonymizer: Pseudonymizer, rebuild: bool = False, *,
            include_unchecked: bool = False, fresh: pa.Table | None = None) -> list[str]:
    """Publish the pseudonymized copy of every restricted batch that passed the gate and lacks one;
    returns the batch ids published.

    Only batches the data-quality gate has checked and not held are published, so whoever
    calls this, analysts see only checked data; ``include_unchecked`` publishes unchecked ones
    too, for callers that say plainly that they skipped the gate. Rows and their batches'
    "published with key K" marks commit together, and the mark is only taken for batches still
    unpublished and not held at that moment, so publishing is idempotent, resumable and safe
    from several workers at once. After a key rotation run with ``rebuild=True``: every
    pseudonym changes, so old and new analyst rows must not be mixed; the zone is emptied and
    published again. ``fresh`` holds statement rows this process has just committed (an ingest
    followed by its publish): the batches it holds are taken from memory instead of being read back.
    """
    inventory = BatchInventory(lake)
    if rebuild:
        everything = [batch.batch_id for batch in inventory.all()]
        lake.delete(ANALYST, AlwaysTrue(), [BatchInventory.set_published(everything, None)])
    published: list[str] = []
    while waiting := _waiting(lake, pseudonymizer, include_unchecked):
        group = next(_groups(waiting))
        ids = [batch.batch_id for batch in group]
        claim = BatchInventory.claim_published(ids, pseudonymizer.key_id, checked_only=not include_unchecked)
        try:
            lake.append(ANALYST, pseudonymizer.table(_statements(lake, ids, fresh)), [claim])
        except ConcurrentChange as change:  # another publisher or the gate got there first: look again
            log.info("publishing again from the inventory: %s", change)
            continue
        published += ids
    return published


def _statements(lake: Lake, batch_ids: list[str], fresh: pa.Table | None) -> pa.Table:
    """The restricted rows of ``batch_ids``: those ``fresh`` holds from memory, the others from the lake."""
    if fresh is None:
        return lake.read_batches("statements", batch_ids)
    rows = TABLES["statements"].conform(fresh.filter(pc.is_in(fresh["batch_id"], value_set=pa.array(batch_ids))))
    in_memory = set(pc.unique(rows["batch_id"]).to_pylist())
    elsewhere = [batch_id for batch_id in batch_ids if batch_id not in in_memory]
    return pa.concat_tables([rows, lake.read_batches("statements", elsewhere)]) if elsewhere else rows


def _waiting(lake: Lake, pseudonymizer: Pseudonymizer, include_unchecked: bool) -> list[CommittedBatch]:
    """Batches to publish now; refuses to mix pseudonym keys in the analyst zone."""
    batches = BatchInventory(lake).all()
    other_keys = {batch.published_key for batch in batches} - {None, pseudonymizer.key_id}
    if other_keys:
        raise ValueError(
            f"the analyst zone was made with another key (id {', '.join(sorted(map(str, other_keys)))}); "
            "publish with --rebuild after a key rotation so pseudonyms are not mixed"
        )
    is_held = BatchHolds(lake).matcher()
    return [batch for batch in batches
            if not batch.published_key and not is_held(batch.batch_id) and (include_unchecked or batch.checked)]


def _groups(batches: list[CommittedBatch]) -> Iterator[list[CommittedBatch]]:
    group: list[CommittedBatch] = []
    rows = 0
    for batch in batches:
        if group and rows + batch.rows > ROWS_PER_COMMIT:
            yield group
            group, rows = [], 0
        group.append(batch)
        rows += batch.rows
    if group:
        yield group


def unpublished_unchecked(lake: Lake) -> list[CommittedBatch]:
    """Restricted batches that wait for the gate before they can be published."""
    return [batch for batch in BatchInventory(lake).all() if not batch.published_key and not batch.checked]
