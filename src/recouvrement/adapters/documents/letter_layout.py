"""Lay out a parsed letter onto A4 pages with fpdf2.

Why our own layout rather than fpdf2's ``write_html`` or WeasyPrint: the letters go out by the ten
thousand a day (reminders, formal notices), and measured on the same call notice the general
engines are several times (``write_html``) to a hundred times (WeasyPrint) slower than placing
words with fpdf2's lowest-level ``text()`` (figures in docs/documents.md).

Fonts are the standard PDF Helvetica family (WinAnsi encoding, not embedded): the text stays
extractable, and embedding and subsetting a TrueType font in every letter costs ten times the
rest of the work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from fpdf import FPDF
from fpdf.fonts import CORE_FONTS_CHARWIDTHS

from recouvrement.adapters.documents.letter_markup import Block, Letter, Row, Run, winansi

PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
LEFT, RIGHT, TOP, BOTTOM = 20.0, 20.0, 15.0, 22.0
WIDTH = PAGE_W - LEFT - RIGHT
PT = 25.4 / 72  # mm per point
RECIPIENT_X, RECIPIENT_Y = 110.0, 50.0  # DL window envelope, address block
SIZES = {"body": 10.0, "small": 8.0, "h1": 15.0, "h2": 11.5, "issuer": 9.0, "footer": 7.5}
LEADING = 1.3
CELL_PAD = 1.5


@lru_cache(maxsize=8)
def _widths(style: str) -> dict[str, float]:
    """Glyph widths of Helvetica in thousandths of the font size, keyed by Unicode character."""
    table = CORE_FONTS_CHARWIDTHS["helvetica" + style]
    out = {}
    for code in range(256):
        try:
            ch = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:
            continue
        out[ch] = table[chr(code)] / 1000
    return out


@lru_cache(maxsize=65536)
def _em_width(text: str, style: str) -> float:
    """Width in ems; cached, since letters of a batch repeat the same words."""
    w = _widths(style)
    return sum(w.get(c, 0.5) for c in text)


def text_width(text: str, style: str, size: float) -> float:
    return _em_width(text, style) * size * PT


Fragment = tuple[str, str, float]  # text, style, width in mm


def wrap(runs: list[Run], width: float, size: float, bold: bool = False) -> list[list[Fragment]]:
    """Break the runs into lines no wider than ``width`` mm, at spaces (never at a no-break
    space, so "1 234,56 €" and "RF34 0000…" stay whole when written with one)."""
    lines: list[list[Fragment]] = [[]]
    x = 0.0
    pending_space = False
    for text, style in runs:
        if bold and "B" not in style:
            style = "B" + style
        if text == "\n":
            lines.append([])
            x, pending_space = 0.0, False
            continue
        for i, word in enumerate(text.split(" ")):
            if i > 0:
                pending_space = True
            if not word:
                continue
            ww = text_width(word, style, size)
            sw = text_width(" ", style, size) if pending_space and lines[-1] else 0.0
            if lines[-1] and x + sw + ww > width:
                lines.append([])
                x, sw = 0.0, 0.0
            if sw:
                lines[-1].append((" ", style, sw))
            lines[-1].append((word, style, ww))
            x += sw + ww
            pending_space = False
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def _line_height(size: float) -> float:
    return size * PT * LEADING


class _Pages:
    """The pen: current page, vertical position, current font."""

    def __init__(self, letter: Letter) -> None:
        pdf = FPDF(unit="mm", format="A4")
        pdf.core_fonts_encoding = "windows-1252"
        pdf.set_auto_page_break(False)
        meta = letter.meta
        pdf.set_creation_date(_creation_date(meta.get("date", "")))
        pdf.set_producer("recouvrement")
        pdf.set_creator("recouvrement")
        for key, setter in (
            ("title", pdf.set_title),
            ("subject", pdf.set_subject),
            ("author", pdf.set_author),
        ):
            if meta.get(key):
                setter(winansi(meta[key]))
        pdf.set_lang("fr")
        pdf.alias_nb_pages(None)  # draw_footers writes the page count itself
        self.pdf = pdf
        self.font: tuple[str, float] | None = None
        self.footer = next((b for b in letter.blocks if b.kind == "footer"), None)
        self.y = TOP

    def set_font(self, style: str, size: float) -> None:
        if self.font != (style, size):
            self.pdf.set_font("helvetica", style, size)
            self.font = (style, size)

    def new_page(self) -> None:
        self.pdf.add_page()
        self.y = TOP

    def draw_footers(self) -> None:
        """The footer of every page, drawn last so that it can say how many pages there are."""
        pdf = self.pdf
        size = SIZES["footer"]
        y = PAGE_H - BOTTOM + 6
        lines = wrap(self.footer.runs, WIDTH - 25, size) if self.footer is not None else []
        count = pdf.page_no()
        for number in range(1, count + 1):
            pdf.page = number
            pdf.current_font_is_set_on_page = False
            self.font = None
            pdf.set_draw_color(160)
            pdf.line(LEFT, y - 2, PAGE_W - RIGHT, y - 2)
            pdf.set_draw_color(0)
            label = f"{number} / {count}"
            self.set_font("", size)
            pdf.text(PAGE_W - RIGHT - text_width(label, "", size), y + size * PT, label)
            self.draw_lines(lines, LEFT, y, size, "L", WIDTH - 25)

    def fits(self, height: float) -> bool:
        return self.y + height <= PAGE_H - BOTTOM

    def draw_lines(
        self, lines: list[list[Fragment]], x: float, y: float, size: float, align: str, width: float
    ) -> float:
        """Draw wrapped lines from the top ``y``; returns the y below the last line."""
        lh = _line_height(size)
        for line in lines:
            self.draw_line(line, x, y, size, align, width)
            y += lh
        return y

    def draw_line(
        self, line: list[Fragment], x: float, top: float, size: float, align: str, width: float
    ) -> None:
        while line and line[-1][0] == " ":
            line = line[:-1]
        if align != "L":
            used = sum(f[2] for f in line)
            x += (width - used) if align == "R" else (width - used) / 2
        baseline = top + size * PT * 0.95
        i = 0
        while i < len(line):
            style = line[i][1]
            j, w, parts = i, 0.0, []
            while j < len(line) and line[j][1] == style:
                parts.append(line[j][0])
                w += line[j][2]
                j += 1
            self.set_font(style, size)
            self.pdf.text(x, baseline, "".join(parts))
            x += w
            i = j


def _creation_date(text: str) -> datetime:
    """The letter's own date at midnight UTC; a fixed date when the template gives none, so that
    the bytes never depend on the clock."""
    try:
        day = datetime.fromisoformat(text[:10])
    except ValueError:
        day = datetime(2000, 1, 1)
    return day.replace(tzinfo=UTC)


def draw(letter: Letter) -> bytes:
    """The PDF of a parsed letter."""
    pen = _Pages(letter)
    pen.new_page()
    header_bottom = TOP
    flowing = False
    for block in letter.blocks:
        if block.kind == "issuer":
            size = SIZES["issuer"]
            lines = wrap(block.runs, 85, size)
            header_bottom = max(header_bottom, pen.draw_lines(lines, LEFT, TOP + 2, size, "L", 85))
        elif block.kind == "recipient":
            size = SIZES["body"]
            lines = wrap(block.runs, PAGE_W - RIGHT - RECIPIENT_X, size)
            bottom = pen.draw_lines(lines, RECIPIENT_X, RECIPIENT_Y, size, "L", 80)
            header_bottom = max(header_bottom, bottom, RECIPIENT_Y + 25)
        elif block.kind == "footer":
            continue
        else:
            if not flowing:
                pen.y = max(pen.y, header_bottom + 8)
                flowing = True
            _FLOW[block.kind](pen, block)
    pen.draw_footers()
    return bytes(pen.pdf.output())


def _paragraph(pen: _Pages, block: Block) -> None:
    size = SIZES["small"] if block.cls in ("small", "note") else SIZES["body"]
    align = "R" if block.cls == "right" else "L"
    if block.cls == "note":
        pen.pdf.set_text_color(90)
    lh = _line_height(size)
    for line in wrap(block.runs, WIDTH, size):
        if not pen.fits(lh):
            pen.new_page()
        pen.draw_line(line, LEFT, pen.y, size, align, WIDTH)
        pen.y += lh
    pen.pdf.set_text_color(0)
    pen.y += 2.5


def _heading(pen: _Pages, block: Block) -> None:
    size = SIZES[block.kind]
    before, after = (4.0, 3.0) if block.kind == "h1" else (3.5, 1.5)
    lines = wrap(block.runs, WIDTH, size, bold=True)
    lh = _line_height(size)
    # Keep a heading with at least three lines of what follows it.
    if not pen.fits(before + lh * len(lines) + 3 * _line_height(SIZES["body"])):
        pen.new_page()
        before = 0.0
    pen.y = pen.draw_lines(lines, LEFT, pen.y + before, size, "L", WIDTH) + after


def _rule(pen: _Pages, _block: Block) -> None:
    pen.pdf.set_draw_color(120)
    pen.pdf.line(LEFT, pen.y + 1, PAGE_W - RIGHT, pen.y + 1)
    pen.pdf.set_draw_color(0)
    pen.y += 3.5


def _table(pen: _Pages, block: Block) -> None:
    columns = max((len(r.cells) for r in block.rows), default=0)
    if not columns:
        return
    rel = block.widths[:columns] + [1.0] * (columns - len(block.widths))
    widths = [WIDTH * w / sum(rel) for w in rel]
    size = SIZES["body"] - 1
    laid = [(row, _lay_row(row, widths, size)) for row in block.rows]
    heads = [(row, cells) for row, cells in laid if row.kind == "head"]
    for row, cells in laid:
        if not pen.fits(_row_height(cells, size)):
            pen.new_page()
            if row.kind != "head":
                for head, head_cells in heads:
                    _draw_row(pen, head, head_cells, widths, size)
        _draw_row(pen, row, cells, widths, size)
    pen.y += 3.0


def _lay_row(row: Row, widths: list[float], size: float) -> list[list[list[Fragment]]]:
    return [
        wrap(c.runs, w - 2 * CELL_PAD, size, bold=row.kind == "total")
        for c, w in zip(row.cells, widths, strict=False)
    ]


def _row_height(cells: list[list[list[Fragment]]], size: float) -> float:
    return max((len(lines) for lines in cells), default=1) * _line_height(size) + 1.6


def _draw_row(
    pen: _Pages, row: Row, cells: list[list[list[Fragment]]], widths: list[float], size: float
) -> None:
    pdf = pen.pdf
    height = _row_height(cells, size)
    if row.kind == "head":
        pdf.set_fill_color(228)
        pdf.rect(LEFT, pen.y, WIDTH, height, style="F")
    if row.kind == "total":
        pdf.line(LEFT, pen.y, PAGE_W - RIGHT, pen.y)
    x = LEFT
    for cell, lines, w in zip(row.cells, cells, widths, strict=False):
        pen.draw_lines(lines, x + CELL_PAD, pen.y + 0.8, size, cell.align, w - 2 * CELL_PAD)
        x += w
    pen.y += height
    if row.kind == "head":
        pdf.line(LEFT, pen.y, PAGE_W - RIGHT, pen.y)
    else:
        pdf.set_draw_color(215)
        pdf.line(LEFT, pen.y, PAGE_W - RIGHT, pen.y)
        pdf.set_draw_color(0)


_FLOW = {
    "h1": _heading,
    "h2": _heading,
    "p": _paragraph,
    "hr": _rule,
    "table": _table,
}
