"""French PDF letters: what they say (read back with pypdf), that the same input gives the same
bytes, and that the layout keeps every word on the page."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from recouvrement.adapters.documents import letter_layout, letter_markup, pdf

NOTICE = {
    "document_date": "2024-03-20",
    "organisation": {"code": "CSSM", "name": "CSSM"},
    "contributor": {
        "id": 42,
        "name": "Imprimerie lyonnaise SARL",
        "address_lines": ["12 rue des Lilas", "69003 Lyon"],
        "identifier_label": "SIREN",
        "identifier": "404833048",
    },
    "call": {
        "id": 7,
        "period": "2024-03",
        "kind": "employer_monthly",
        "reference": "APL-2024-03-42",
        "issue_date": "2024-03-20",
        "due_date": "2024-04-15",
        "amount": 148112,
        "status": "issued",
    },
    "lines": [
        {"fund": "unedic", "item": "unemployment_employer", "amount": 123456},
        {"fund": "unedic", "item": "unemployment_employee", "amount": 23456},
        {"fund": "ags", "item": "ags", "amount": 1200},
    ],
    "total": 148112,
    "outstanding": 100000,
    "payment_reference": "RF340000000042",
}


def statement(entries: int = 3) -> dict:
    return {
        "document_date": "2024-06-30",
        "as_of": "2024-06-30",
        "since": "2024-01-01",
        "organisation": {"code": "URSSAF-X", "name": "Urssaf de la région"},
        "contributor": NOTICE["contributor"],
        "payment_reference": "RF340000000042",
        "periods": [
            {
                "period": "2024-03",
                "due_date": "2024-04-15",
                "lines": [
                    {
                        "fund": "unedic",
                        "item": "unemployment_employer",
                        "kind": "principal",
                        "amount": 50000,
                    },
                    {
                        "fund": "unedic",
                        "item": "surcharge_initial",
                        "kind": "surcharge",
                        "amount": 2500,
                    },
                ],
                "total": 52500,
            }
        ],
        "totals": {
            "principal": 50000,
            "surcharge": 2500,
            "penalty": 0,
            "credit": 1000,
            "due": 51500,
            "balance": 51500,
        },
        "entries": [
            {
                "value_date": f"2024-{1 + i % 6:02d}-15",
                "cause": "payment" if i % 2 else "assessment",
                "description": f"mouvement {i}",
                "debit": 0 if i % 2 else 12345,
                "credit": 6789 if i % 2 else 0,
            }
            for i in range(entries)
        ],
        "calls": [
            {
                "reference": "APL-2024-03-42",
                "period": "2024-03",
                "due_date": "2024-04-15",
                "amount": 148112,
                "status": "overdue",
            }
        ],
    }


def text_of(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\u00a0", " ")


def test_call_notice_says_in_french_what_is_called_by_whom_and_by_when():
    text = text_of(pdf.render_pdf("call_notice", NOTICE))
    for expected in (
        "Caisse de sécurité sociale de Mayotte",
        "97600 Mamoudzou",
        "Imprimerie lyonnaise SARL",
        "69003 Lyon",
        "Appel de cotisations — mars 2024",
        "Assurance chômage (part patronale)",
        "Garantie des salaires (AGS)",
        "Unédic",
        "1 234,56 €",
        "1 481,12 €",
        "Reste à payer",
        "1 000,00 €",
        "RF34 0000 0000 42",
        "15 avril 2024",
        "Le 20 mars 2024",
        "APL-2024-03-42",
        "SIREN 404833048",
        "R243-16",
    ):
        assert expected in text, expected


def test_the_same_letter_gives_the_same_bytes_and_its_date_is_the_letters_own():
    first = pdf.render_pdf("call_notice", NOTICE)
    assert first.startswith(b"%PDF-")
    assert pdf.render_pdf("call_notice", NOTICE) == first
    later = pdf.render_pdf("call_notice", {**NOTICE, "document_date": "2024-03-21"})
    assert later != first
    info = PdfReader(io.BytesIO(first)).metadata
    assert info.creation_date == datetime(2024, 3, 20, tzinfo=UTC)
    assert info.title == "Appel de cotisations mars 2024"


def test_a_batch_gives_the_bytes_of_each_letter_rendered_alone():
    contexts = [
        {**NOTICE, "contributor": {**NOTICE["contributor"], "id": i, "name": f"Cotisant {i}"}}
        for i in range(1, 6)
    ]
    batch = list(pdf.render_many("call_notice", contexts))
    assert batch == [pdf.render_pdf("call_notice", c) for c in contexts]
    assert len(set(batch)) == 5
    assert "Cotisant 3" in text_of(batch[2])


def test_account_statement_shows_debts_surcharges_credit_calls_and_movements():
    text = text_of(pdf.render_pdf("account_statement", statement()))
    for expected in (
        "Relevé de compte au 30 juin 2024",
        "Mouvements du 1er janvier 2024 au 30 juin 2024",
        "Urssaf de la région",
        "Majoration de retard (5 %)",
        "25,00 €",
        "Crédit en votre faveur",
        "Total restant dû",
        "515,00 €",
        "impayé à l'échéance",
        "Calcul des cotisations — mouvement 0",
        "15/01/2024",
        "123,45 €",
        "67,89 €",
    ):
        assert expected in text, expected


def test_a_long_statement_runs_over_pages_numbered_and_repeats_the_table_head():
    content = pdf.render_pdf("account_statement", statement(entries=120))
    reader = PdfReader(io.BytesIO(content))
    pages = len(reader.pages)
    assert pages >= 3
    last = reader.pages[-1].extract_text()
    assert f"{pages} / {pages}" in last
    assert "Opération" in last  # the head row of the movements, again
    assert "mouvement 119" in text_of(content)


def test_a_template_cannot_use_markup_the_layout_would_drop():
    with pytest.raises(letter_markup.MarkupError):
        letter_markup.parse('<p>texte <img src="x"></p>')
    with pytest.raises(letter_markup.MarkupError):
        letter_markup.parse('<div class="sidebar">texte</div>')
    with pytest.raises(letter_markup.MarkupError):
        letter_markup.parse("<p>jamais fermé")


def test_names_in_other_scripts_are_transliterated_not_refused():
    content = pdf.render_pdf(
        "call_notice", {**NOTICE, "contributor": {**NOTICE["contributor"], "name": "Łukasz Żółć"}}
    )
    assert "Lukasz Zólc" in text_of(content)


def test_french_dates_and_periods():
    assert pdf.date_fr("2024-04-01") == "1er avril 2024"
    assert pdf.date_fr("2024-08-15") == "15 août 2024"
    assert pdf.period_fr("2024-02") == "février 2024"
    assert pdf.period_fr("2024-Q1") == "1er trimestre 2024"
    assert pdf.period_fr("2024-Q3") == "3e trimestre 2024"
    assert pdf.period_fr("2024") == "année 2024"
    assert pdf.label("health", "items") == "Maladie-maternité"
    assert pdf.label("new_item", "items") == "new_item"


@given(st.text(max_size=40))
def test_winansi_text_is_always_printable_with_the_standard_fonts(text):
    shown = letter_markup.winansi(text)
    shown.encode("cp1252")
    if all(ch.encode("cp1252", "ignore") for ch in text):
        assert shown == text  # what the fonts can show is left as it is


words = st.text(alphabet="abcdéèàçœ€ ABCXYZ0123456789,.;", min_size=1, max_size=30)


@given(
    st.lists(st.tuples(words, st.sampled_from(["", "B"])), max_size=12),
    st.floats(min_value=20, max_value=170),
)
def test_wrapping_keeps_every_word_and_lines_within_the_width(runs, width):
    lines = letter_layout.wrap(runs, width, 10.0)
    placed = [f[0] for line in lines for f in line if f[0] != " "]
    expected = [w for text, _ in runs for w in text.split(" ") if w]
    assert placed == expected
    for line in lines:
        words_in_line = [f for f in line if f[0] != " "]
        if len(words_in_line) > 1:  # a single word longer than the width stands alone
            assert sum(f[2] for f in line) <= width + 1e-9


def test_markup_in_the_data_is_printed_as_text_not_obeyed():
    name = 'A & B <div class="footer">"X"</div>'
    content = pdf.render_pdf(
        "call_notice", {**NOTICE, "contributor": {**NOTICE["contributor"], "name": name}}
    )
    assert name in text_of(content)
