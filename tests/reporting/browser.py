"""A real headless Chromium (the system's, driven by Playwright) for checking pages people read.

``page_problems`` loads a page at a printed A4 width and at a laptop width and lists what a
reader would see as broken: text or tables cut off at the right, images that did not load,
elements wider than the page, and raw message ids (a key never translated).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags a closed network needs (no background connections) and a root user needs (no sandbox).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WIDTHS = {"laptop": 1280, "a4 portrait": 794}  # CSS pixels; 794 px = 210 mm at 96 dpi

_OVERFLOW_SCRIPT = """() => {
  const problems = [];
  const page = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > page + 1)
    problems.push(`page scrolls sideways: ${document.documentElement.scrollWidth}px content in ${page}px`);
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.right > page + 1 && !el.closest('.scroll'))
      problems.push(`<${el.tagName.toLowerCase()}> "${(el.innerText || el.alt || '').slice(0, 40)}" `
                    + `ends at ${Math.round(box.right)}px`);
    const clips = ['hidden', 'clip'].includes(style.overflowX);
    if (clips && el.scrollWidth > el.clientWidth + 1)
      problems.push(`<${el.tagName.toLowerCase()}> "${(el.innerText || '').slice(0, 40)}" is cut off`);
    if (el.tagName === 'IMG' && !(el.complete && el.naturalWidth > 0))
      problems.push(`image ${el.getAttribute('src')} did not load`);
  }
  return problems;
}"""


def require_chromium() -> str:
    """The Chromium binary; without one the test is skipped, except under CI where it fails."""
    if CHROMIUM is None:
        message = "no chromium to render the page (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def page_problems(browser, path: Path, screenshot_dir: Path | None = None) -> list[str]:
    """Everything a reader would see as broken in ``path`` at each of :data:`WIDTHS`."""
    problems: list[str] = []
    for name, width in WIDTHS.items():
        page = browser.new_page(viewport={"width": width, "height": 1000})
        try:
            page.goto(path.resolve().as_uri(), wait_until="load")
            problems += [f"{path.name} at {name} width: {problem}" for problem in page.evaluate(_OVERFLOW_SCRIPT)]
            if screenshot_dir is not None:
                screenshot_dir.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot_dir / f"{path.stem}-{name.replace(' ', '-')}.png"), full_page=True)
        finally:
            page.close()
    return problems
