"""Where a lake lives: its data (a folder or an object-store URI) and its catalog database.

A lake is an Apache Iceberg warehouse plus the SQL database of its catalog. By default both
sit in one folder (``<lake>/warehouse`` and ``<lake>/catalog.sqlite``), so the embedded lake
needs nothing running. In production the data goes to S3 and the catalog to the PostgreSQL
that compose already runs; several workers then share the lake directly, with no local copy.

S3 settings come from the URI (``?endpoint_override=host:port&scheme=http&region=...``) and
credentials from the standard ``AWS_*`` variables, never from the lake path or the logs.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from xapi_ingest.lake.layout import LakeLayout

if TYPE_CHECKING:
    import pyarrow.fs as pafs


class LakeLocationError(ValueError):
    """A lake that cannot be opened as given (said in one line, naming what to set)."""


def is_remote(location: str | Path) -> bool:
    return "://" in str(location) and not str(location).startswith("file://")


def add_lake_argument(parser: argparse.ArgumentParser, what: str = "") -> None:
    """The ``--lake`` and ``--catalog`` options every command shares (``what`` adds what is read).

    ``--lake`` stays text because ``Path`` would fold a URI's ``//``.
    """
    parser.add_argument("--lake", required=True, type=str,
                        help=f"lake root: a directory or a URI such as s3://bucket/lake{what}")
    parser.add_argument("--catalog", metavar="URL",
                        help="catalog database (SQLAlchemy URL, e.g. postgresql+psycopg2://host/db); default: "
                             "XAPI_LAKE_CATALOG, else <lake>/catalog.sqlite for a lake on local disk")


@dataclass(frozen=True)
class LakeLocation:
    """The resolved places of one lake: data, catalog database and, for S3, the connection options."""

    warehouse: str  # file:///abs/path or s3://bucket/prefix
    catalog_url: str
    s3_options: tuple[tuple[str, str], ...] = ()
    local_root: Path | None = None

    @classmethod
    def resolve(cls, location: str | Path, catalog: str | None = None) -> LakeLocation:
        text = str(location)
        if not is_remote(text):
            root = Path(text.removeprefix("file://")).resolve()
            layout = LakeLayout(root)
            url = catalog or f"sqlite:///{layout.catalog}"
            return cls(layout.warehouse.as_uri(), url, (), root)
        if not catalog:
            raise LakeLocationError(
                f"a lake on object storage needs a shared catalog database: set XAPI_LAKE_CATALOG or --catalog "
                f"(e.g. postgresql+psycopg2://user@host/lake) for {safe_location(text)}")
        parts = urlsplit(text)
        return cls(f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/"), catalog, _s3_options(parts.query))

    @property
    def is_sqlite(self) -> bool:
        return self.catalog_url.startswith("sqlite")

    def filesystem(self) -> pafs.FileSystem:
        """The pyarrow filesystem that reads this lake's data files (paths given without scheme)."""
        import pyarrow.fs as pafs  # on use: every command's --lake option goes through this module

        if self.local_root is not None:
            return pafs.LocalFileSystem()
        return _s3_filesystem(self.s3_options)


def _s3_options(query: str) -> tuple[tuple[str, str], ...]:
    """pyiceberg's S3 options from a URI's ``?endpoint_override=host:port&scheme=http&region=...``."""
    given = dict(parse_qsl(query))
    options: dict[str, str] = {}
    if "endpoint_override" in given:
        options["s3.endpoint"] = f"{given.get('scheme', 'https')}://{given['endpoint_override']}"
    if "region" in given:
        options["s3.region"] = given["region"]
    return tuple(sorted(options.items()))


def _s3_filesystem(s3_options: tuple[tuple[str, str], ...]) -> pafs.FileSystem:
    import pyarrow.fs as pafs

    options = dict(s3_options)
    endpoint = options.get("s3.endpoint")
    if endpoint is None:
        return pafs.S3FileSystem(region=options.get("s3.region"))
    scheme, _, host = endpoint.partition("://")
    return pafs.S3FileSystem(endpoint_override=host, scheme=scheme, region=options.get("s3.region") or "us-east-1")


def folder_filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """A folder, or an ``s3://bucket/prefix?...`` URI in the lake's style (credentials from ``AWS_*``),
    as a pyarrow filesystem and the folder's path in it: how other inputs than the lake are read."""
    import pyarrow.fs as pafs

    if not is_remote(location):
        return pafs.LocalFileSystem(), str(Path(location.removeprefix("file://")).resolve())
    parts = urlsplit(location)
    return _s3_filesystem(_s3_options(parts.query)), f"{parts.netloc}{parts.path}".rstrip("/")


def strip_scheme(path: str) -> str:
    """A data file's location as a path for :meth:`LakeLocation.filesystem`."""
    return path.split("://", 1)[1] if "://" in path else path


def safe_location(text: str) -> str:
    """A lake location fit for messages: no user, password or query string."""
    parts = urlsplit(text)
    if not parts.scheme:
        return text
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"
