"""Data Docs pages from a real gate run: they render offline and show each expectation's severity."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.quality.test_gate import FRESH, _ingest
from tests.reporting.browser import require_chromium
from xapi_ingest.lake.store import Lake
from xapi_ingest.quality.gate import check_batches
from xapi_ingest.quality.suites import load_suite
from xapi_ingest.xapi.samples import realistic_statements


class _AssetLinks(HTMLParser):
    """Every URL a browser fetches to render a page: stylesheets, icons, scripts, images, CSS url()s."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "link" and values.get("href"):
            self.urls.append(values["href"] or "")
        elif tag in ("script", "img") and values.get("src"):
            self.urls.append(values["src"] or "")
        self._in_style = tag == "style"
        if values.get("style"):
            self.handle_data(values["style"] or "")

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style or "url(" in data:
            self.urls += re.findall(r"url\(\s*['\"]?([^'\")\s]+)", data)


def _asset_urls(page: Path) -> list[str]:
    parser = _AssetLinks()
    parser.feed(page.read_text(encoding="utf-8"))
    return [url for url in parser.urls if not url.startswith("data:")]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The Data Docs of one gate run over a clean batch (GX takes seconds, so built once)."""
    tmp_path = tmp_path_factory.mktemp("docs")
    lake = Lake(tmp_path / "lake")
    _ingest(lake, tmp_path, "b1", realistic_statements(40))
    report = check_batches(lake, ["b1"], tmp_path / "reports", run_time=FRESH)
    assert report.data_docs is not None
    return report.data_docs.parent


def _pages(site: Path) -> dict[str, Path]:
    pages = {"index": site / "index.html", "suite": site / "expectations" / "statements.html"}
    (pages["validation"],) = (site / "validations").rglob("*.html")
    return pages


def test_every_page_loads_its_styles_scripts_fonts_and_images_from_the_site(site):
    for name, page in _pages(site).items():
        urls = _asset_urls(page)
        assert any(url.endswith("bootstrap.min.css") for url in urls), name
        remote = [url for url in urls if re.match(r"(https?:)?//", url)]
        assert remote == [], f"{name} page loads {remote}"
        missing = [url for url in urls if not (page.parent / url.split("?")[0]).resolve().is_file()]
        assert missing == [], f"{name} page links files that do not exist: {missing}"
    fonts = site / "static" / "vendor" / "fontawesome" / "webfonts"
    assert (fonts / "fa-solid-900.woff2").is_file()  # the status icons


def test_each_expectation_shows_its_severity(site):
    severities = [entry["severity"] for entry in load_suite().entries]
    pages = _pages(site)
    validation = pages["validation"].read_text(encoding="utf-8")
    assert re.search(r"<th[^>]*>\s*Severity\s*</th>", validation)
    assert validation.count("badge badge-danger") == severities.count("critical")
    assert validation.count("badge badge-warning") == severities.count("warning")
    suite = pages["suite"].read_text(encoding="utf-8")
    assert suite.count("Severity: critical") == severities.count("critical")
    assert suite.count("Severity: warning") == severities.count("warning")


@pytest.mark.integration
def test_the_index_renders_its_table_in_a_browser_without_network(site, tmp_path):
    chromium = require_chromium()
    # The index's tables are built in the browser by bootstrap-table: without its scripts the page is empty.
    # The proxy and resolver rules make any attempt to reach the network fail.
    browser = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
               f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    index = (site / "index.html").as_uri()
    dom = subprocess.run([*browser, "--dump-dom", index], capture_output=True, text=True, timeout=120, check=True).stdout
    assert 'class="fixed-table-container' in dom  # bootstrap-table ran
    assert re.search(r"<td[^>]*>\s*b1\s*</td>", dom)  # the run is listed
    assert "fa-check-circle" in dom  # with its status icon
    shot = tmp_path / "index.png"
    subprocess.run([*browser, "--window-size=1200,800", f"--screenshot={shot}", index],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one
