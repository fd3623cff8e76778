"""A report as a list of blocks, written as HTML for the screen and as PDF for print.

Reports say what to show (headings, paragraphs, tables of already formatted text, figures);
this module decides how, once: one stylesheet for the screen and for print (A4, sections on
new pages, tables that wrap instead of running off the page), and the same blocks go to
:mod:`transforms.reporting.pdf`, so the HTML and the PDF cannot drift apart.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

STYLE = """
:root { --ink: #1d2733; --muted: #56606b; --line: #d5dbe1; --head: #e6edf3; --accent: #2f6f9f; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink); line-height: 1.45;
       margin: 0 auto; padding: 1.5rem; max-width: 60rem; font-size: 15px; }
h1 { font-size: 1.5rem; margin: 0 0 .4rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; padding-bottom: .2rem; border-bottom: 2px solid var(--line); }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
p { margin: .4rem 0 .8rem; }
p.small { color: var(--muted); font-size: .85rem; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; margin: .4rem 0 1.2rem; font-size: .85rem; }
th, td { padding: .3rem .45rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top;
         overflow-wrap: break-word; hyphens: auto; white-space: pre-line; }
th { background: var(--head); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) td { background: #f6f8fa; }
figure { margin: .5rem 0 1.2rem; }
figure img { display: block; width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; }
@page { size: A4; margin: 15mm 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  h2.page { break-before: page; }
  h2, h3 { break-after: avoid; }
  table { font-size: 8.5pt; }
  thead { display: table-header-group; }
  tr, figure, img { break-inside: avoid; }
  tbody tr:nth-child(even) td { background: none; }
}
"""


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    new_page: bool = False  # printed on a new page (a major section)


@dataclass(frozen=True)
class Text:
    text: str
    small: bool = False


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    numeric: frozenset[int] = frozenset()  # columns of numbers: right-aligned
    widths: Sequence[float] | None = None  # relative column widths; equal when not given


@dataclass(frozen=True)
class Figure:
    file: str  # next to the page
    caption: str
    width_share: float = 1.0


Block = Heading | Text | Table | Figure


@dataclass
class Page:
    title: str
    language: str
    subtitle: str = ""
    blocks: list[Block] = field(default_factory=list)


def table_html(table: Table) -> str:
    def cells(values: Sequence[str], tag: str) -> str:
        return "".join(f'<{tag}{" class=n" if index in table.numeric else ""}>{html.escape(value)}</{tag}>'
                       for index, value in enumerate(values))

    # fixed column shares, the same as in the PDF: a long word wraps inside its column instead of widening the table
    shares = table.widths or [1.0] * len(table.header)
    columns = "".join(f'<col style="width:{100 * share / sum(shares):.1f}%">' for share in shares)
    rows = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in table.rows)
    return (f"<table><colgroup>{columns}</colgroup><thead><tr>{cells(table.header, 'th')}</tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _block_html(block: Block) -> str:
    match block:
        case Heading(text, level, new_page):
            return f'<h{level}{" class=page" if new_page else ""}>{html.escape(text)}</h{level}>'
        case Text(text, small):
            return f'<p{" class=small" if small else ""}>{html.escape(text)}</p>'
        case Table():
            return table_html(block)
        case Figure(file, caption, width_share):
            return (f'<figure style="max-width:{width_share * 100:g}%"><img src="{html.escape(file)}" '
                    f'alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}</figcaption></figure>')
    raise TypeError(f"not a block: {block!r}")


def page_html(page: Page) -> str:
    subtitle = f'<p class="small">{html.escape(page.subtitle)}</p>' if page.subtitle else ""
    body = "\n".join(_block_html(block) for block in page.blocks)
    return (f'<!doctype html>\n<html lang="{page.language}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(page.title)}</title><style>{STYLE}</style></head>\n"
            f"<body><h1>{html.escape(page.title)}</h1>{subtitle}\n{body}\n</body></html>\n")
