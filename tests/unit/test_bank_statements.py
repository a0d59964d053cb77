"""Reading camt.053 and CSV statements, and the RF payment reference, without a database."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recouvrement.adapters.files.bank_statements import (
    StatementFormat,
    StatementReader,
    parse_amount,
)
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import format_euros
from recouvrement.domain.payment_reference import (
    account_reference,
    contributor_of_reference,
    designated_period,
    format_reference,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "camt053"
IBAN = "FR7630006000011234567890189"
HEADER = (
    "bank_reference,booking_date,value_date,amount,currency,debtor_name,debtor_iban,reference\n"
)


def read(data: bytes | Path, file_format: str | None = None) -> list:
    return list(StatementReader(data, file_format))


def camt(body: str, ns: str = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02", iban=IBAN):
    return (
        f'<Document xmlns="{ns}"><BkToCstmrStmt><Stmt><Id>S</Id>'
        f"<Acct><Id><IBAN>{iban}</IBAN></Id></Acct>{body}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def ntry(amount="10.00", ccy="EUR", ref="<AcctSvcrRef>R1</AcctSvcrRef>", tx=""):
    return (
        f'<Ntry><Amt Ccy="{ccy}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        "<BookgDt><Dt>2015-03-02</Dt></BookgDt><ValDt><Dt>2015-03-03</Dt></ValDt>"
        f"{ref}<NtryDtls><TxDtls>{tx}</TxDtls></NtryDtls></Ntry>"
    )


def test_the_fixture_statement_gives_one_transaction_per_batched_transfer():
    txs = read(FIXTURES / "statement_001_02.xml")
    assert [t.bank_reference for t in txs] == [
        "BK-0001",
        "BK-0002",
        "BK-0003",
        "BK-0004/1",
        "BK-0004/2",
        "BK-0005",
    ]
    first = txs[0]
    assert (first.account_iban, first.amount, first.currency) == (IBAN, 150_000, "EUR")
    assert (first.booking_date, first.value_date) == (date(2015, 3, 2), date(2015, 3, 2))
    assert first.debtor_name == "Boulangerie Dupont"
    assert first.reference == "RF74 0000 0000 01" and first.end_to_end_id == "E2E-0001"
    assert txs[1].end_to_end_id == ""  # NOTPROVIDED
    assert [t.amount for t in txs[3:5]] == [30_000, 20_000]
    reject = txs[5]
    assert (reject.direction, reject.return_reason, reject.end_to_end_id) == (
        "debit",
        "AM04",
        "SDD-0001",
    )
    assert [p.code for t in txs for p in t.problems] == ["foreign_currency"]


def test_version_001_08_is_read_from_its_namespace():
    reader = StatementReader(FIXTURES / "statement_001_08.xml")
    [tx] = list(reader)
    assert reader.version == "001.08"
    assert (tx.debtor_name, tx.amount, tx.booking_date) == ("Mme Leroy", 4_210, date(2015, 3, 3))
    assert tx.account_iban == IBAN  # written with spaces in the file
    assert contributor_of_reference(tx.remittance) == 1


def test_the_hash_covers_the_whole_file():
    data = (FIXTURES / "statement_001_02.xml").read_bytes()
    reader = StatementReader(data)
    list(reader)
    import hashlib

    assert reader.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (camt("<Ntry><Amt>1</Ntry>"), "malformed_xml"),
        (b"", "empty_file"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"/>',
            "unsupported_format",
        ),
        (camt(ntry(), iban="FR7630006000011234567890180"), "bad_account_iban"),
        (camt(ntry(), iban=""), "missing_account"),
    ],
)
def test_a_file_at_fault_is_refused_whole_with_a_french_reason(data, code):
    with pytest.raises(DomainError) as err:
        read(data, "camt053")
    [problem] = err.value.problems
    assert problem.field == "file" and problem.code == code


def test_a_malformed_file_names_its_line_and_column():
    data = (FIXTURES / "statement_001_02.xml").read_bytes().replace(b"</Ntry>", b"</Ntr>", 3)
    with pytest.raises(DomainError) as err:
        read(data)
    assert "ligne" in str(err.value) and "colonne" in str(err.value)


@pytest.mark.parametrize(
    ("entry", "code"),
    [
        (ntry(ccy="USD"), "foreign_currency"),
        (ntry(amount="10.001"), "fractional_cents"),
        (ntry(amount="dix"), "bad_amount"),
        (ntry(ref=""), "required"),
        (
            ntry(tx="<RltdPties><DbtrAcct><Id><IBAN>FR00123</IBAN></Id></DbtrAcct></RltdPties>"),
            "bad_iban",
        ),
    ],
)
def test_a_transaction_at_fault_is_kept_with_its_reason(entry, code):
    bad, good = read(camt(entry + ntry(ref="<AcctSvcrRef>OK</AcctSvcrRef>")))
    assert code in [p.code for p in bad.problems]
    assert all("écriture n° 1" in p.reason for p in bad.problems)
    assert good.problems == () and good.bank_reference == "OK"


def test_a_csv_statement_keeps_its_bad_lines_with_their_line_number():
    data = (
        HEADER
        + "B1,2015-03-02,2015-03-02,12.30,EUR,Dupont,,RF740000000001\n"
        + "B2,2015-03-02,2015-03-02,1.001,EUR,Dupont,,\n"
        + "B3,2015-03-02,02/03/2015,5,GBP,Dupont,,\n"
        + "B4,2015-03-05,2015-03-05,-12.30,EUR,,,\n"
    ).encode()
    one, two, three, four = read(data, "csv")
    assert (one.amount, one.reference, one.problems) == (1_230, "RF740000000001", ())
    assert [p.code for p in two.problems] == ["fractional_cents"]
    assert "ligne 3" in two.problems[0].reason
    assert {p.code for p in three.problems} == {"foreign_currency", "bad_date"}
    assert (four.direction, four.amount) == ("debit", 1_230)


def test_a_csv_without_its_columns_is_refused():
    with pytest.raises(DomainError) as err:
        read(b"reference,amount\nRF1,2\n", "csv")
    assert err.value.problems[0].code == "missing_columns"


def test_the_format_is_guessed_or_refused():
    assert StatementReader(b"<Document/>").format is StatementFormat.CAMT053
    assert StatementReader(HEADER.encode()).format is StatementFormat.CSV
    with pytest.raises(DomainError):
        StatementReader(b"", "mt940")


def _peak_memory(entries: int) -> tuple[int, int]:
    body = "".join(ntry(ref=f"<AcctSvcrRef>R{i}</AcctSvcrRef>") for i in range(entries))
    reader = StatementReader(camt(body))
    tracemalloc.start()
    count = sum(1 for _ in reader)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return count, peak


def test_a_large_statement_is_read_in_bounded_memory():
    """Entries are dropped as they are read: memory does not grow with the file (a tree of
    the whole file would take about ten times its size)."""
    small, small_peak = _peak_memory(2_000)
    big, big_peak = _peak_memory(16_000)
    assert (small, big) == (2_000, 16_000)
    assert big_peak < 2 * small_peak


@given(st.integers(min_value=1, max_value=10**15 - 1))
def test_amounts_are_read_back_to_the_cent(cents):
    assert parse_amount(format_euros(cents), "Amt", "x") == (cents, None)


@given(st.integers(min_value=1, max_value=10**10 - 1), st.text(max_size=30), st.text(max_size=30))
def test_the_reference_is_found_back_inside_free_text(contributor_id, before, after):
    ref = format_reference(account_reference(contributor_id))
    text = f"{before} {ref.lower()} {after}"
    found = contributor_of_reference(text)
    # Free text may contain another valid reference by chance: then it is ambiguous (None).
    assert found in (contributor_id, None)
    assert contributor_of_reference(f"virement {ref} merci") == contributor_id


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=0, max_value=96))
def test_a_mistyped_reference_is_never_read_as_another_account(contributor_id, position):
    ref = account_reference(contributor_id)
    i = 4 + position % (len(ref) - 4)
    typo = ref[:i] + str((int(ref[i]) + 1) % 10) + ref[i + 1 :]
    assert contributor_of_reference(typo) is None  # mod 97 catches every single-digit error


def test_a_call_reference_designates_its_period():
    assert designated_period(f"{account_reference(7)} 2015-02", 7) == "2015-02"
    assert designated_period(f"{account_reference(7)} 2015-02", 8) is None
