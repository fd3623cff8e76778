"""PDF documents for print and archive, written with fpdf2 (pure Python, no system libraries).

The HTML reports are what people browse; a school files a PDF. fpdf2's core fonts are Latin-1
only, so every document embeds DejaVu Sans (shipped with matplotlib, which the reports already
use for charts), which has the Cyrillic letters of Russian and Kazakh (ә ғ қ ң ө ұ ү һ і).
Only the glyphs a document uses are embedded, so a one-page statement stays a few kilobytes.
"""

from __future__ import annotations

import string
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path

import matplotlib
from fontTools import subset
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import TextMode
from fpdf.fonts import TTFFont
from PIL import Image

from transforms.reporting.pages import Figure, Heading, Page, Table, Text
from xapi_ingest.lake.workers import WorkerPool, spare_cores

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVuSans"
FONT_FILE = FONT_DIR / "DejaVuSans.ttf"
_BOLD_STROKE = 0.018  # outline width per point of font size: bold drawn from the regular face (see _Document)
_HEADING_SIZES = {1: 15.0, 2: 12.0}
_BODY, _SMALL, _CELL = 9.5, 7.5, 8.0  # points
_MARGIN, _PAD = 15.0, 1.2  # millimetres
_HEAD_FILL, _ROW_FILL, _RULE = (225, 232, 240), (244, 246, 249), (200, 207, 214)


# Starting a worker process (a forkserver that imports fpdf2) costs about what writing this many statements does.
DOCUMENTS_PER_WORKER = 40


def write_pdf(page: Page, path: Path) -> None:
    """``page`` as an A4 PDF at ``path``; figures are read from ``path``'s folder, as the HTML page finds them."""
    write_pdfs([(page, path)])


def write_pdfs(documents: Sequence[tuple[Page, Path]], workers: int | None = None) -> None:
    """Each page as an A4 PDF at its path, embedding a font cut down once to the letters the batch uses.

    A statement per teacher is tens of milliseconds of pure-Python work each, minutes for a large
    cluster, so a big batch is shared with ``workers`` processes (default: the cores nothing else
    keeps busy, one per :data:`DOCUMENTS_PER_WORKER` documents) while this process writes its own share.
    """
    letters = set().union(*(_letters(page) for page, _ in documents))
    if workers is None:
        workers = min(spare_cores(), len(documents) // DOCUMENTS_PER_WORKER - 1)
    with tempfile.TemporaryDirectory(prefix="xapi-pipeline-font-") as scratch:
        font = _trim_font(letters, Path(scratch))
        shares = [list(documents[n::workers + 1]) for n in range(workers + 1)] if workers > 0 else [list(documents)]
        pool = WorkerPool(len(shares) - 1, __name__) if len(shares) > 1 else None
        try:
            started = [pool.submit(_write_all, (share, font)) for share in shares[1:]] if pool else []
            _write_all((shares[0], font))
            for future in started:
                future.result()  # a worker's error is raised here, as if this process had written it
        finally:
            if pool is not None:
                pool.close()


def _write_all(job: tuple[list[tuple[Page, Path]], Path]) -> None:
    documents, font = job
    for page, path in documents:
        _write(page, path, font)


def _write(page: Page, path: Path, font: Path) -> None:
    document = _Document(page.title, page.language, font)
    document.heading(page.title, 1)
    if page.subtitle:
        document.paragraph(page.subtitle, small=True)
    for block in page.blocks:
        match block:
            case Heading(text, level, new_page):
                document.heading(text, level, new_page)
            case Text(text, small):
                document.paragraph(text, small)
            case Table(header, rows, numeric, widths):
                document.table(header, rows, widths, numeric)
            case Figure(file, caption, width_share):
                document.image(path.parent / file, width_share)
                document.paragraph(caption, small=True)
    document.save(path)


class _Document:
    """An A4 document of headings, paragraphs, tables and images, laid out top to bottom.

    Text is wrapped here, word by word from the font's advance widths, and drawn line by line
    with ``FPDF.text``: fpdf2's ``multi_cell`` and ``table`` lay every cell out twice with a
    per-character line breaker, ~100 ms for a one-page statement against ~5 ms this way, which
    is what a statement per teacher for thousands of teachers can afford. For the same reason
    bold is the regular face drawn with a thin outline: a second embedded face doubles the
    cost of every document (fpdf2 parses and subsets each face per document).
    """

    def __init__(self, title: str, language: str, font: Path) -> None:
        self._pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        self._pdf.add_font(FONT, "", str(font))
        self._pdf.set_title(title)
        self._pdf.set_lang(language)
        self._pdf.set_creator("xapi-pipeline")
        self._pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self._pdf.set_auto_page_break(False)  # pages are broken here, between lines and table rows
        self._pdf.add_page()

    def _font(self, size: float) -> tuple[Mapping[int, float], float]:
        """Selects the font; returns its advance widths (by code point) and the millimetres per width unit."""
        self._pdf.set_font(FONT, "", size)
        font = self._pdf.current_font
        assert isinstance(font, TTFFont)
        return font.cw, size * 0.001 / self._pdf.k

    def _wrap(self, text: str, width: float, size: float) -> list[str]:
        widths, scale = self._font(size)

        def measure(word: str) -> float:
            return sum(widths[ord(char)] for char in word) * scale  # a defaultdict: unknown letters get a width

        space, lines = measure(" "), []
        for paragraph in text.split("\n"):
            line, used = "", 0.0
            for word in paragraph.split(" "):
                size_of_word = measure(word)
                while size_of_word > width and len(word) > 1:  # an id longer than the column: broken anywhere
                    cut = max(1, int(len(word) * width / size_of_word))
                    if line:
                        lines.append(line)
                    lines.append(word[:cut])
                    line, used, word = "", 0.0, word[cut:]
                    size_of_word = measure(word)
                if line and used + space + size_of_word > width:
                    lines.append(line)
                    line, used = word, size_of_word
                else:
                    line, used = (f"{line} {word}", used + space + size_of_word) if line else (word, size_of_word)
            lines.append(line)
        return lines

    def _room(self, height: float) -> bool:
        """Starts a new page unless ``height`` fits on this one; says whether it did."""
        if self._pdf.get_y() + height > self._pdf.h - _MARGIN:
            self._pdf.add_page()
            return True
        return False

    def _lines(self, lines: list[str], x: float, y: float, size: float, width: float = 0, right: bool = False,
               bold: bool = False) -> None:
        self._font(size)
        # the text render mode outlives BT/ET in PDF: bold lines get their own graphics state
        with self._pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=size * _BOLD_STROKE,
                                     draw_color=(0, 0, 0)) if bold else nullcontext():
            for number, line in enumerate(lines):
                shift = width - self._pdf.get_string_width(line) if right else 0
                self._pdf.text(x + shift, y + size * 0.3528 * (1.0 + 1.25 * number), line)

    def heading(self, text: str, level: int, new_page: bool = False) -> None:
        size = _HEADING_SIZES.get(level, _BODY)
        lines = self._wrap(text, self._pdf.epw, size)
        height = len(lines) * size * 0.3528 * 1.25 + 2
        if new_page:
            self._pdf.add_page()
        else:
            self._room(height + 25)  # a heading never ends a page
            self._pdf.set_y(self._pdf.get_y() + (3 if level > 1 else 0))
        self._lines(lines, self._pdf.l_margin, self._pdf.get_y(), size, bold=True)
        self._pdf.set_y(self._pdf.get_y() + height)

    def paragraph(self, text: str, small: bool = False) -> None:
        size = _SMALL if small else _BODY
        step = size * 0.3528 * 1.25
        for line in self._wrap(text, self._pdf.epw, size):
            self._room(step)
            self._lines([line], self._pdf.l_margin, self._pdf.get_y(), size)
            self._pdf.set_y(self._pdf.get_y() + step)
        self._pdf.set_y(self._pdf.get_y() + 1.5)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float] | None = None,
              right: frozenset[int] = frozenset()) -> None:
        """Rows that wrap within their columns; the header is repeated on each page the table spans."""
        relative = widths or [1.0] * len(header)
        columns = [self._pdf.epw * share / sum(relative) for share in relative]
        self._row(header, columns, right, head=True)
        for number, values in enumerate(rows):
            self._row(values, columns, right, shaded=number % 2 == 1, header=header)
        self._pdf.set_y(self._pdf.get_y() + 3)

    def _row(self, values: Sequence[str], columns: list[float], right: frozenset[int], head: bool = False,
             shaded: bool = False, header: Sequence[str] = ()) -> None:
        cells = [self._wrap(value, width - 2 * _PAD, _CELL) for value, width in zip(values, columns,
                                                                                                 strict=True)]
        height = max(map(len, cells)) * _CELL * 0.3528 * 1.25 + 2 * _PAD
        if self._room(height) and header:
            self._row(header, columns, right, head=True)
        x, y = self._pdf.l_margin, self._pdf.get_y()
        if head or shaded:
            self._pdf.set_fill_color(*(_HEAD_FILL if head else _ROW_FILL))
            self._pdf.rect(x, y, self._pdf.epw, height, style="F")
        self._pdf.set_draw_color(*_RULE)
        self._pdf.set_line_width(0.2)
        self._pdf.line(x, y + height, x + self._pdf.epw, y + height)
        for index, (lines, width) in enumerate(zip(cells, columns, strict=True)):
            self._lines(lines, x + _PAD, y + _PAD, _CELL, width - 2 * _PAD, right=index in right,
                        bold=head)
            x += width
        self._pdf.set_y(y + height)

    def image(self, path: Path, width_share: float = 1.0) -> None:
        width = self._pdf.epw * width_share
        with Image.open(path) as picture:
            height = width * picture.height / picture.width
        self._room(height + 2)  # a figure is never split
        self._pdf.image(str(path), x=self._pdf.l_margin, y=self._pdf.get_y(), w=width)
        self._pdf.set_y(self._pdf.get_y() + height + 3)

    def save(self, path: Path) -> None:
        self._pdf.output(str(path))


def _letters(page: Page) -> set[str]:
    """Every character ``page`` draws."""
    texts = [page.title, page.subtitle]
    for block in page.blocks:
        match block:
            case Heading(text) | Text(text):
                texts.append(text)
            case Table(header, rows):
                texts += [*header, *(value for row in rows for value in row)]
            case Figure(caption=caption):
                texts.append(caption)
    return set("".join(texts))


def _trim_font(letters: set[str], folder: Path) -> Path:
    """DejaVu Sans cut down to ``letters`` (and digits, so that figures always print), saved in ``folder``.

    fpdf2 parses the embedded font for every document and subsets it again when writing: with
    the whole font (5,900 glyphs) that is ~80 ms a document, with the ~150 glyphs a batch of
    statements in one language uses it is a third of that, which is what makes a statement
    per teacher affordable for thousands of teachers.
    """
    font = TTFont(str(FONT_FILE))
    available = font.getBestCmap()
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, layout_features=[])
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted({ord(letter) for letter in letters | set(string.printable)} & set(available)))
    subsetter.subset(font)
    target = folder / "DejaVuSans-trimmed.ttf"
    font.save(str(target))
    return target
