"""Pseudonymization and publishing of the analyst-facing zone.

Analysts get every column they need for learning analytics, but no raw JSON, no names, and a
keyed pseudonym (HMAC-SHA256) in place of each person's IFI. The key lives outside the lake
(an environment variable, or an Airflow connection's password), so the lake alone cannot be
re-identified. An ``mbox`` is hashed to its ``mbox_sha1sum`` form before keying, so a teacher
known by email on one platform and by the email's SHA-1 on another gets one pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xapi_ingest.lake.holds import BatchHolds, CheckedFiles
from xapi_ingest.lake.schema import ANALYST_DROPPED, ANALYST_PSEUDONYMIZED
from xapi_ingest.lake.store import Lake, write_parquet_atomically
from xapi_ingest.publish.free_text import JSON_COLUMNS, FreeTextScrubber

KEY_ENV = "XAPI_PSEUDONYM_KEY"  # named in messages; the app reads it (xapi_ingest.app.settings)
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
    def __init__(self, key: bytes, drop_extensions: Iterable[str] = ()) -> None:
        self._key = key
        self.free_text = FreeTextScrubber(self.pseudonym, drop_extensions)
        # Identifies the key (not secret): tells which analyst files were made with which key.
        self.key_id = hashlib.sha256(b"key-id:" + key).hexdigest()[:12]

    def pseudonym(self, ifi: str) -> str:
        digest = hmac.new(self._key, person_key(ifi).encode(), hashlib.sha256).hexdigest()
        return "p_" + digest[:32]

    def strings(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Pseudonymize a string column, computing each distinct IFI once."""
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        distinct = pc.unique(values.drop_null())
        mapped = pa.array([self.pseudonym(v) for v in distinct.to_pylist()], pa.string())
        return pc.take(mapped, pc.index_in(values, value_set=distinct))

    def column(self, values: pa.ChunkedArray) -> pa.Array:
        values = values.combine_chunks()
        if pa.types.is_list(values.type):
            flat = self.strings(values.flatten())
            return pa.ListArray.from_arrays(values.offsets, flat, mask=values.is_null())
        return self.strings(values)

    def table(self, table: pa.Table) -> pa.Table:
        """The analyst version of a restricted statements table."""
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
        table = self._scrub_free_text(table)
        metadata = dict(table.schema.metadata or {})
        metadata[b"pseudonym_key_id"] = self.key_id.encode()
        return table.replace_schema_metadata(metadata)


    def _scrub_free_text(self, table: pa.Table) -> pa.Table:
        """Identifiers in every other text column become pseudonyms too (:mod:`~xapi_ingest.publish.free_text`)."""
        for index, field in enumerate(table.schema):
            text = field.type if not pa.types.is_list(field.type) else field.type.value_type
            if pa.types.is_string(text) and field.name not in ANALYST_PSEUDONYMIZED:
                scrubbed = self.free_text.column(table[field.name], is_json=field.name in JSON_COLUMNS)
                table = table.set_column(index, field, scrubbed)
        return table


def publish(lake: Lake, pseudonymizer: Pseudonymizer, rebuild: bool = False, *,
            include_unchecked: bool = False) -> list[Path]:
    """Write the analyst twin of every restricted statements file that passed the gate and lacks one.

    Only files the data-quality gate has checked (:class:`~xapi_ingest.lake.holds.CheckedFiles`)
    and not held are published, so whoever calls this, analysts see only checked data;
    ``include_unchecked`` publishes unchecked files too, for callers that say plainly that they
    skipped the gate. Twins carry the restricted file's name, so publishing is idempotent and
    resumable. After a key rotation run with ``rebuild=True``: every pseudonym changes, so old
    and new analyst files must not be mixed. Runs under the lake's writer lock, so a gate that
    withdraws a batch and a publish never interleave.
    """
    with lake.write_lock():
        if rebuild and lake.analyst_dir.exists():
            shutil.rmtree(lake.analyst_dir)
        _require_same_key(lake, pseudonymizer)
        written: list[Path] = []
        is_held = BatchHolds(lake).matcher()
        is_checked = CheckedFiles(lake).matcher()
        for source_file in lake.files(lake.statements_dir):
            twin = lake.analyst_twin(source_file)
            if twin.exists() or is_held(source_file) or not (include_unchecked or is_checked(source_file)):
                continue
            write_parquet_atomically(pseudonymizer.table(pq.read_table(source_file)), twin)
            written.append(twin)
    return written


def unpublished_unchecked(lake: Lake) -> list[Path]:
    """Restricted files that wait for the gate before they can be published."""
    is_checked = CheckedFiles(lake).matcher()
    return [path for path in lake.files(lake.statements_dir)
            if not lake.analyst_twin(path).exists() and not is_checked(path)]


def _require_same_key(lake: Lake, pseudonymizer: Pseudonymizer) -> None:
    published = lake.files(lake.analyst_dir)
    if published:
        key_id = (pq.read_schema(published[0]).metadata or {}).get(b"pseudonym_key_id", b"").decode()
        if key_id != pseudonymizer.key_id:
            raise ValueError(
                f"the analyst zone was made with another key (id {key_id or 'unknown'}); "
                "publish with --rebuild after a key rotation so pseudonyms are not mixed"
            )
