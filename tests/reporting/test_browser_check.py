"""The browser check itself can fail: a page with a too-wide table or a broken image is reported."""

from __future__ import annotations

from pathlib import Path

from tests.reporting.browser import page_problems


def test_a_page_that_fits_has_no_problems(browser, tmp_path: Path) -> None:
    page = tmp_path / "fits.html"
    page.write_text("<!doctype html><meta charset=utf-8><body><table><tr><td>Сәлем</td><td>1,5</td></tr></table>")
    assert page_problems(browser, page) == []


def test_a_wide_table_and_a_missing_image_are_reported(browser, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    cells = "".join(f"<td>pct_requirement_met_{i}</td>" for i in range(40))
    page.write_text(f"<!doctype html><meta charset=utf-8><body><table><tr>{cells}</tr></table><img src=missing.png>")
    problems = page_problems(browser, page, screenshot_dir=tmp_path / "shots")
    assert any("scrolls sideways" in problem for problem in problems)
    assert any("missing.png did not load" in problem for problem in problems)
    assert (tmp_path / "shots" / "broken-laptop.png").stat().st_size > 0
