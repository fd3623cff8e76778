"""The lake's own tables in the catalog database, written in the same transaction as a table commit.

Iceberg keeps no unique keys, and checking a new batch's statement ids against every data file
costs time in proportion to the lake (random UUIDs defeat min/max statistics). So the catalog
database, which already holds each table's current metadata pointer, also holds an id registry
with a primary key. pyiceberg's SQL catalog commits a snapshot by swapping that pointer with a
compare-and-set ``UPDATE`` and a ``COMMIT``; :func:`in_commit` adds our rows to that very
transaction. Either both land or neither does: a lost compare-and-set or an id another writer
registered first (a primary-key violation) rolls back both, and the writer re-checks and retries.

The other tables here are small bookkeeping that must agree with the data: the batch
inventory (which ingest batch is checked, held, published), the gate's holds, the pull
watermarks and a few settings of the lake. Keeping them in the catalog database, not in files
next to the data, is what lets any number of workers share one lake on S3 without a local cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    event,
    select,
)
from sqlalchemy.orm import Session

METADATA = MetaData()

STATEMENT_IDS = Table(
    "xapi_statement_ids", METADATA,
    Column("statement_id", String, primary_key=True),
    # sha256 of the statement without what an LRS assigns: tells a repeat from a conflicting copy
    Column("content_sha256", String(64), nullable=False),
)
QUARANTINE_KEYS = Table(
    "xapi_quarantine_keys", METADATA,
    Column("quarantine_key", String(64), primary_key=True),
)
BATCHES = Table(
    "xapi_batches", METADATA,
    Column("batch_id", String, primary_key=True),  # one restricted-zone commit of one ingest sub-batch
    Column("source", String, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("committed_at", String, nullable=False),
    Column("checked_at", String),  # set by the gate, whatever its verdict (holds say which failed)
    Column("published_key", String),  # id of the pseudonym key its analyst copy was made with
)
HOLDS = Table(
    "xapi_holds", METADATA,
    Column("batch_id", String, primary_key=True),
    Column("reason", Text, nullable=False),
)
PULL_STATE = Table(
    "xapi_pull_state", METADATA,
    Column("source", String, primary_key=True),
    Column("state", Text, nullable=False),
)
SETTINGS = Table(
    "xapi_lake_settings", METADATA,
    Column("name", String, primary_key=True),
    Column("value", Text, nullable=False),
)

Write = Callable[[Connection], object]


class ConcurrentChange(RuntimeError):
    """A ledger write found the rows it expects changed by another writer: the commit is rolled back."""

_pending: ContextVar[tuple[Engine, list[Write]] | None] = ContextVar("xapi_lake_pending_writes", default=None)


@contextmanager
def in_commit(engine: Engine, writes: list[Write]) -> Iterator[None]:
    """Run ``writes`` inside the catalog transaction of every table commit made in this block.

    pyiceberg retries a lost compare-and-set itself, each attempt in a new transaction, so the
    writes run once per attempt and land only with the attempt that commits.
    """
    token = _pending.set((engine, writes))
    try:
        yield
    finally:
        _pending.reset(token)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = _pending.get()
    if pending is None or session.get_bind() is not pending[0]:
        return
    connection = session.connection()
    for write in pending[1]:
        write(connection)


def create(engine: Engine) -> None:
    METADATA.create_all(engine, checkfirst=True)


def chunks(values: list[str], size: int = 900) -> Iterator[list[str]]:
    """SQLite allows at most a few hundred bound parameters per statement on old builds."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def lookup(connection: Connection, table: Table, key: str, values: Iterable[str], *extra: str) -> dict[str, tuple]:
    """Rows of ``table`` whose ``key`` is among ``values``: key -> the ``extra`` columns."""
    column = table.c[key]
    found: dict[str, tuple] = {}
    for part in chunks(list(values)):
        query = select(column, *(table.c[name] for name in extra)).where(column.in_(part))
        for row in connection.execute(query):
            found[row[0]] = tuple(row[1:])
    return found
