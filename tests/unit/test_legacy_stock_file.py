"""The CACM stock file read and checked line by line, without a database
(adapters/files/legacy_stock.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.adapters.files.legacy_stock import read_legacy_file
from recouvrement.domain.errors import DomainError

HEAD = "#stock_date=2012-12-31\nsiren;period;item;principal;surcharges;piece_reference;piece_date;status\n"
GOOD = "732829320;2012-10;unemployment_employer;{p};{s};P-{n};2012-11-20;amicable\n"


def _codes(parsed):
    return {r.line: [p.code for p in r.problems] for r in parsed.rejected}


def test_each_bad_line_is_kept_with_every_problem_named():
    text = HEAD + (
        "732829321;2012-10;unemployment_employer;10,00;0;P-1;2012-11-20;amicable\n"
        "732829320;2012-1;ags;10,001;0;P-2;2013-01-02;lost\n"
        "732829320;2012-10;unemployment_employer;10,00\n"
        + GOOD.format(p="5.00", s="1.00", n=3)
        + GOOD.format(p="5.00", s="1.00", n=3)
    )
    parsed = read_legacy_file(text.encode(), "stock.csv")
    assert [x.line for x in parsed.lines] == [6]
    assert _codes(parsed) == {
        3: ["bad_checksum"],
        4: ["bad_period", "bad_item", "fractional_cents", "after_stock_date", "bad_status"],
        5: ["bad_columns"],
        7: ["duplicate_piece"],
    }
    assert parsed.file_total == 1_000 + 600 + 600  # lines 3, 6, 7: their amounts were readable


def test_an_overpayment_has_no_surcharges_and_json_lines_read_alike():
    text = (
        '{"header": {"stock_date": "2012-12-31", "line_count": 2}}\n'
        '{"siren": "732829320", "period": "2012", "item": "unemployment_employee",'
        ' "principal": "30.00", "surcharges": "1.00", "piece_reference": "T-1",'
        ' "piece_date": "2012-05-02", "status": "overpaid"}\n'
        '{"siren": "732829320", "period": "2012", "item": "unemployment_employee",'
        ' "principal": 30.5, "piece_reference": "T-2", "piece_date": "2012-05-02",'
        ' "status": "overpaid", "status_date": "2012-05-01"}\n'
    )
    parsed = read_legacy_file(text.encode(), "stock.jsonl")
    assert _codes(parsed) == {2: ["bad_amount"]}
    (line,) = parsed.lines
    assert (line.principal, line.is_credit, line.due_date.isoformat()) == (
        3_050,
        True,
        "2012-05-02",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "fichier vide"),
        ("#stock_date\nsiren\n", "clé=valeur"),
        ("#stock_date=2012-12-31;color=red\n" + HEAD[22:], "clé inconnue"),
        (HEAD[22:] + GOOD.format(p=1, s=0, n=1), "stock_date obligatoire"),
        (HEAD.replace("piece_date;", ""), "colonnes obligatoires absentes : piece_date"),
        ("#stock_date=2012-12-31;line_count=2\n" + HEAD[22:] + GOOD.format(p=1, s=0, n=1),
         "annonce 2 pièces"),
        ('{"siren": "1"}\n{"header": {"stock_date": "2012-12-31"}}\n', "première ligne"),
    ],
)  # fmt: skip
def test_a_malformed_file_is_refused_whole(text, message):
    with pytest.raises(DomainError, match=message):
        read_legacy_file(text.encode(), "stock.csv" if not text.startswith("{") else "s.jsonl")


@given(
    st.lists(
        st.tuples(st.integers(0, 10**9), st.integers(0, 10**7), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_the_file_total_is_what_is_applied_plus_what_is_rejected(rows):
    """No cent is lost between the lines kept and the lines rejected."""
    body = "".join(
        GOOD.format(p=f"{p // 100}.{p % 100:02d}", s=f"{s // 100}.{s % 100:02d}", n=i).replace(
            "2012-10", "2013-10" if late else "2012-10"
        )
        for i, (p, s, late) in enumerate(rows)
    )
    parsed = read_legacy_file((HEAD + body).encode(), "stock.csv")
    expected = sum(p + s for p, s, _ in rows)
    kept = sum(x.amount for x in parsed.lines)
    rejected = sum(r.amount or 0 for r in parsed.rejected)
    assert parsed.file_total == kept + rejected == expected
    assert len(parsed.lines) == sum(1 for p, s, late in rows if not late and p + s > 0)
