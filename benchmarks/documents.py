"""Letters per second: the call notice through `render_many`, and the same letter through the
engines that were the alternatives (fpdf2's `write_html` with an embedded DejaVu font, WeasyPrint).

    .venv/bin/python benchmarks/documents.py [--letters 2000] [--processes 2]

Prints the throughput of one process, of `--processes` processes (each rendering its share of the
batch, as a daily run would split it), and the ratio against each alternative on the same letter.
The alternatives are measured only when installed (WeasyPrint is not a dependency of the project).
"""

from __future__ import annotations

import argparse
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from recouvrement.adapters.documents import pdf

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")

NOTICE = {
    "document_date": "2024-04-05",
    "organisation": {"code": "CSSM", "name": "Caisse de sécurité sociale de Mayotte"},
    "contributor": {
        "id": 1,
        "name": "Boulangerie de Mamoudzou SARL",
        "address_lines": ["12 rue du Commerce", "97600 Mamoudzou"],
        "identifier_label": "SIREN",
        "identifier": "732829320",
    },
    "call": {
        "id": 1,
        "period": "2024-03",
        "kind": "employer_monthly",
        "reference": "RF740000000001-2024-03",
        "issue_date": "2024-04-05",
        "due_date": "2024-04-15",
        "amount": 148_112,
        "status": "issued",
    },
    "lines": [
        {"fund": "unedic", "item": "unemployment_employer", "amount": 123_456},
        {"fund": "unedic", "item": "unemployment_employee", "amount": 23_456},
        {"fund": "ags", "item": "ags", "amount": 1_200},
    ],
    "total": 148_112,
    "outstanding": 148_112,
    "payment_reference": "RF740000000001",
}


def contexts(first: int, count: int) -> list[dict]:
    return [
        {**NOTICE, "contributor": {**NOTICE["contributor"], "id": i, "name": f"Cotisant n° {i}"}}
        for i in range(first, first + count)
    ]


def _render_share(bounds: tuple[int, int]) -> tuple[int, float]:
    """Bytes written and CPU seconds spent on a share of the batch."""
    started = time.process_time()
    size = sum(len(b) for b in pdf.render_many("call_notice", contexts(*bounds)))
    return size, time.process_time() - started


def ours(letters: int, processes: int) -> tuple[float, float, float]:
    """Letters per second of wall-clock time (1 process, n processes) and per CPU second: on a
    shared machine the CPU figure is the one that says what a core can do."""
    list(pdf.render_many("call_notice", contexts(1, 20)))  # warm: templates, metrics
    started = time.perf_counter()
    size, cpu = _render_share((1, letters))
    one = letters / (time.perf_counter() - started)
    share = letters // processes
    bounds = [(1 + k * share, share) for k in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        list(pool.map(_render_share, [(1, 10)] * processes))  # warm each worker
        started = time.perf_counter()
        list(pool.map(_render_share, bounds))
        many = share * processes / (time.perf_counter() - started)
    print(f"  taille moyenne : {size / letters / 1024:.1f} Kio")
    return one, many, letters / cpu


def _html() -> str:
    """The same letter as plain HTML, for the general engines."""
    markup = pdf.render_markup("call_notice", NOTICE)
    for tag in ('<div class="issuer">', '<div class="recipient">', '<div class="footer">'):
        markup = markup.replace(tag, "<p>")
    markup = re.sub(r'<col width="[0-9.]+">', "", markup)  # write_html wants widths on cells
    return markup.replace("</div>", "</p>")


def fpdf2_write_html(letters: int) -> float | None:
    from fpdf import FPDF

    html = _html()
    started = time.process_time()
    for _ in range(letters):
        doc = FPDF()
        doc.add_font("dejavu", "", str(DEJAVU / "DejaVuSans.ttf"))
        doc.add_font("dejavu", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
        doc.add_page()
        doc.set_font("dejavu", size=10)
        doc.write_html(html, font_family="dejavu")
        doc.output()
    return letters / (time.process_time() - started)


def weasyprint(letters: int) -> float | None:
    try:
        from weasyprint import HTML
    except ImportError:
        return None
    html = f"<html><body style='font-family: DejaVu Sans; font-size: 10pt'>{_html()}</body></html>"
    HTML(string=html).write_pdf()
    started = time.process_time()
    for _ in range(letters):
        HTML(string=html).write_pdf()
    return letters / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(f"Avis d'appel de cotisations, {args.letters} lettres d'une page")
    one, many, per_cpu = ours(args.letters, args.processes)
    print(f"  render_many, 1 processus : {one:8.0f} lettres/s ({1000 / one:.2f} ms/lettre)")
    print(f"  render_many, par seconde de CPU : {per_cpu:8.0f} lettres ({1000 / per_cpu:.2f} ms)")
    print(f"  render_many, {args.processes} processus : {many:8.0f} lettres/s")
    print(f"  10 000 lettres en {10_000 / many:.1f} s sur {args.processes} processus")
    sample = max(20, args.letters // 20)
    for name, measure in (
        ("fpdf2 write_html + DejaVu", fpdf2_write_html),
        ("WeasyPrint", weasyprint),
    ):
        rate = measure(sample if name.startswith("fpdf2") else max(10, sample // 5))
        if rate is None:
            print(f"  {name} : non installé, non mesuré")
        else:
            print(
                f"  {name} : {rate:8.1f} lettres par seconde de CPU, "
                f"soit {per_cpu / rate:.0f} fois plus lent"
            )


if __name__ == "__main__":
    main()
