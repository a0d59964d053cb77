"""The markup of a letter: a small HTML subset that Jinja2 templates produce, parsed into blocks.

A tag the layout does not know is refused (``MarkupError``), so a template cannot silently lose
text. The tags:

- ``<meta name="title|subject|author|date" content="…">``: document properties; ``date``
  (AAAA-MM-JJ) becomes the creation date, so the same letter gives the same bytes.
- ``<div class="issuer">`` (top left), ``<div class="recipient">`` (the window of a DL envelope),
  ``<div class="footer">`` (bottom of every page, with the page number).
- ``<h1>``, ``<h2>``, ``<p>`` (class ``small``, ``right``, ``note``), ``<br>``, ``<b>``,
  ``<strong>``, ``<i>``, ``<em>``, ``<hr>``.
- ``<table>`` with ``<col width="40">`` (relative widths), ``<tr class="head|total">`` and
  ``<th>``/``<td>`` (``align="right|center"``); a table cut by a page break repeats its head rows.

Characters outside WinAnsi, the encoding of the standard PDF fonts (a name written in another
script), are transliterated rather than refused; French is entirely within it, « », œ and € included.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser

BLOCK_CLASSES = {"issuer", "recipient", "footer"}
P_CLASSES = {"", "small", "right", "note"}
IGNORED = {"html", "head", "body", "thead", "tbody", "colgroup", "title", "span"}

_SPACES = re.compile(r"[ \t\n\r\f]+")
_WINANSI_SUBSTITUTES = {
    "\u202f": "\u00a0",  # the narrow no-break space of format_euros_fr
    "\u2009": " ",
    "\u2011": "-",
    "\u2010": "-",
    # Letters that Unicode does not decompose into a Latin letter and a mark.
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "ı": "i",
    "Ħ": "H",
    "ħ": "h",
}


class MarkupError(ValueError):
    """The template produced markup the layout does not know: a template bug, not user input."""


Run = tuple[str, str]  # (text, style among "", "B", "I", "BI"); text "\n" is a line break


@dataclass
class Cell:
    runs: list[Run]
    align: str = "L"
    head: bool = False


@dataclass
class Row:
    kind: str  # "", "head" or "total"
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # issuer, recipient, footer, h1, h2, p, hr, table
    runs: list[Run] = field(default_factory=list)
    cls: str = ""
    widths: list[float] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


@dataclass
class Letter:
    meta: dict[str, str]
    blocks: list[Block]


def winansi(text: str) -> str:
    """The text in characters the standard fonts can show (French is entirely in WinAnsi)."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for ch in text:
        ch = _WINANSI_SUBSTITUTES.get(ch, ch)
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            ch = unicodedata.normalize("NFKD", ch).encode("cp1252", "ignore").decode("cp1252")
            ch = ch or "?"
        out.append(ch)
    return "".join(out)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.blocks: list[Block] = []
        self.block: Block | None = None
        self.row: Row | None = None
        self.cell: Cell | None = None
        self.bold = 0
        self.italic = 0

    def _style(self) -> str:
        return ("B" if self.bold else "") + ("I" if self.italic else "")

    def _open(self, block: Block) -> None:
        if self.block is not None:
            raise MarkupError(f"<{block.kind}> dans <{self.block.kind}>")
        self.block = block

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag in IGNORED:
            return
        if tag == "meta":
            self.meta[a.get("name", "")] = a.get("content", "")
        elif tag == "div":
            if a.get("class") not in BLOCK_CLASSES:
                raise MarkupError(f"classe de <div> inconnue : {a.get('class')!r}")
            self._open(Block(a["class"]))
        elif tag in ("h1", "h2"):
            self._open(Block(tag))
        elif tag == "p":
            if a.get("class", "") not in P_CLASSES:
                raise MarkupError(f"classe de <p> inconnue : {a.get('class')!r}")
            self._open(Block("p", cls=a.get("class", "")))
        elif tag == "hr":
            self.blocks.append(Block("hr"))
        elif tag == "table":
            self._open(Block("table"))
        elif tag == "col" and self.block is not None and self.block.kind == "table":
            self.block.widths.append(float(a.get("width", "1")))
        elif tag == "tr" and self.block is not None and self.block.kind == "table":
            self.row = Row(a.get("class", ""))
            self.block.rows.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            align = {"right": "R", "center": "C"}.get(a.get("align", ""), "L")
            self.cell = Cell([], align, tag == "th")
            self.row.cells.append(self.cell)
        elif tag == "br":
            self._runs().append(("\n", ""))
        elif tag in ("b", "strong"):
            self.bold += 1
        elif tag in ("i", "em"):
            self.italic += 1
        else:
            raise MarkupError(f"balise inconnue ou mal placée : <{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("b", "strong"):
            self.bold -= 1
        elif tag in ("i", "em"):
            self.italic -= 1
        elif tag in ("td", "th"):
            self.cell = None
        elif tag == "tr":
            self.row = None
        elif tag in ("div", "h1", "h2", "p", "table") and self.block is not None:
            self.blocks.append(self.block)
            self.block = None

    def _runs(self) -> list[Run]:
        if self.cell is not None:
            return self.cell.runs
        if self.block is None or self.block.kind == "table":
            raise MarkupError("texte hors d'un bloc")
        return self.block.runs

    def handle_data(self, data: str) -> None:
        text = _SPACES.sub(" ", data)
        if not text.strip(" "):
            in_text = self.block is not None and self.block.kind != "table"
            if text and (self.cell is not None or in_text):
                self._runs().append((" ", self._style()))
            return
        self._runs().append((winansi(text), self._style() or ("B" if self._in_head() else "")))

    def _in_head(self) -> bool:
        return self.cell is not None and self.cell.head


def parse(markup: str) -> Letter:
    parser = _Parser()
    parser.feed(markup)
    parser.close()
    if parser.block is not None:
        raise MarkupError(f"<{parser.block.kind}> non fermé")
    return Letter(parser.meta, parser.blocks)
