"""Data Docs that render without the internet.

GX 1.24's page templates load Bootstrap, jQuery, bootstrap-table, Font Awesome and more from
CDNs, and build the index table in the browser with that JavaScript: offline, the index is an
empty, unstyled page and the status icons are blank. GX copies only its own images and fonts into
the site, and its templates cannot be overridden. So after GX builds the pages, this module copies
exact copies of those files (shipped in ``data_docs_assets/``, see its README) into the site's
``static/vendor/`` folder and points the new pages at them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from xapi_ingest.common.atomic import write_bytes_atomically, write_text_atomically

ASSETS = Path(__file__).resolve().parent / "data_docs_assets"
_VENDOR = "static/vendor"

# Every CDN asset GX 1.24's templates reference, and its copy under data_docs_assets/.
LOCAL_COPIES = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/bootstrap-table-filter-control.min.js",
    # GX mixes 1.19.0 and 1.19.1 here; the extension's stylesheet did not change between them.
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
}
# Loaded by every page but used by none we generate: Vega draws only profiling charts, and the
# bootstrap-dark stylesheet only restyles for a dark desktop theme (pages stay light offline).
_UNUSED = re.compile(
    r'<script src="https://cdn\.jsdelivr\.net/npm/vega[^"]*"></script>'
    r'|<link rel="stylesheet" href="https://cdn\.jsdelivr\.net/npm/@forevolve/bootstrap-dark[^"]*"\s*/?>'
)
# The navbar logo (and its dark-theme variant) comes from GX's S3 bucket although the site has its own copy.
_LOGO = re.compile(r'https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[a-z_-]+\.png[^"\')\s]*')
# GX links the favicon one folder too shallow from validation pages; point every page at the real one.
_FAVICON = re.compile(r'(?:\.\.?/)*static/images/favicon\.ico')
# Subresource-integrity and CORS attributes make browsers refuse scripts loaded from file://.
_CDN_ATTRIBUTES = re.compile(r'\s(?:integrity|crossorigin)="[^"]*"')


def build_offline_docs(context: Any, site_name: str, resources: Iterable[Any]) -> Path:
    """Build the Data Docs pages of ``resources`` (and the index), then make them render offline.

    Only the pages of this build are rewritten: earlier pages already are, and reading every page
    ever built on each run would slow each run down as the reports folder grows.
    """
    resources = list(resources)
    built = context.build_data_docs(site_names=[site_name], resource_identifiers=resources)
    index = Path(built[site_name].removeprefix("file://"))
    _copy_assets(index.parent / _VENDOR)
    pages = [index] + [
        Path(url["site_url"].removeprefix("file://"))
        for resource in resources
        for url in context.get_docs_sites_urls(resource_identifier=resource, site_name=site_name)
        if url.get("site_url")
    ]
    for page in pages:
        _rewrite(page, index.parent)
    return index


def _copy_assets(vendor: Path) -> None:
    """Copy the shipped assets that the site lacks (or holds in another version)."""
    for source in ASSETS.rglob("*"):
        target = vendor / source.relative_to(ASSETS)
        if source.is_file() and source.name != "README.md" and (
                not target.exists() or target.stat().st_size != source.stat().st_size):
            write_bytes_atomically(source.read_bytes(), target)


def _rewrite(page: Path, site: Path) -> None:
    """Point one page's asset URLs at the site's local copies (relative, so the site can move)."""
    up = Path(os.path.relpath(site, page.parent)).as_posix()
    root = "" if up == "." else f"{up}/"
    html = page.read_text(encoding="utf-8")
    text = _UNUSED.sub("", html)
    for url, local in LOCAL_COPIES.items():
        text = text.replace(url, f"{root}{_VENDOR}/{local}")
    text = _LOGO.sub(f"{root}static/images/logo-long.png", text)
    text = _FAVICON.sub(f"{root}static/images/favicon.ico", text)
    text = _CDN_ATTRIBUTES.sub("", text)
    if text != html:
        write_text_atomically(text, page)
