"""Reading bank statements — ISO 20022 camt.053 (001.02 and 001.08) and a simple CSV — as a stream.

A statement of a million entries is never held as a tree: `xml.etree.ElementTree.iterparse` hands
over each `Ntry` when it ends, it is read into `BankTransaction`s and removed from its statement at
once. The file's SHA-256 is computed while it is read.

Two kinds of fault are told apart (docs/receipts.md). A fault of the file — malformed XML, a
namespace that is not camt.053, a statement without a valid account IBAN, a CSV without its
columns — raises `DomainError` (field "file"): the caller must post nothing. A fault of one
transaction — another currency than the euro, fractional cents, a missing bank reference or date, a
wrong debtor IBAN — is carried in `BankTransaction.problems`: the transaction is kept as rejected
with its reason, the others are imported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import IO, NamedTuple

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from recouvrement.domain.errors import DomainError, Problem

CAMT053_NAMESPACES = {
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02": "001.02",
    "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08": "001.08",
}
CURRENCY = "EUR"
CSV_COLUMNS = (
    "bank_reference",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "debtor_name",
    "debtor_iban",
    "reference",
)
CSV_OPTIONAL = ("account_iban", "end_to_end_id", "return_reason", "original_reference")
_AMOUNT = re.compile(r"^(-?)(\d{1,13})(?:[.,](\d{1,2}))?$")
_AMOUNT_ANY = re.compile(r"^-?\d+(?:[.,]\d+)?$")


class StatementFormat(StrEnum):
    CAMT053 = "camt053"
    CSV = "csv"


class Direction(StrEnum):
    CREDIT = "credit"  # money in (CRDT)
    DEBIT = "debit"  # money out (DBIT): a direct-debit reject when it carries return information


class BankTransaction(NamedTuple):
    """One transaction of a statement, as read.

    Attributes:
        index: its ordinal in the file (1 = first), for messages and ordering.
        where: where it is, in French ("écriture n° 3 du relevé STMT-1", "ligne 4").
        account_iban: the collector's account the statement is for.
        bank_reference: the bank's reference of the transaction (AcctSvcrRef; for a batched entry,
            the transaction's own or the entry's followed by "/n"): with the account, the key.
        direction: credit or debit.
        amount: positive integer cents, or None when unreadable.
        currency: ISO 4217 code as given.
        booking_date, value_date: None when missing or unreadable.
        end_to_end_id, debtor_name, debtor_iban: from the transaction details.
        reference: the structured creditor reference (RmtInf/Strd/CdtrRefInf/Ref).
        remittance: the unstructured remittance text (RmtInf/Ustrd), joined.
        return_reason: RtrInf/Rsn/Cd of a return (AC04, MD06, AM04…).
        original_reference: the original bank reference a return names (RtrInf/AddtlInf), if any.
        problems: why the transaction must be rejected (empty when it is sound).
    """

    index: int
    where: str
    account_iban: str
    statement_id: str
    bank_reference: str
    direction: str
    amount: int | None
    currency: str
    booking_date: date | None
    value_date: date | None
    end_to_end_id: str = ""
    debtor_name: str = ""
    debtor_iban: str = ""
    reference: str = ""
    remittance: str = ""
    return_reason: str = ""
    original_reference: str = ""
    problems: tuple[Problem, ...] = ()


def refused(reason: str, code: str) -> DomainError:
    return DomainError(Problem("file", reason, code))


class _Hashing(io.RawIOBase):
    """A read-only file that hashes what it hands over."""

    def __init__(self, raw: IO[bytes]):
        self.raw = raw
        self.digest = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.digest.update(data)
        self.bytes_read += n
        return n


class StatementReader:
    """Iterate over the transactions of a file; `sha256` is complete once iteration is over.

    >>> data = b"bank_reference,booking_date,value_date,amount,currency,debtor_name,debtor_iban,"
    >>> data += b"reference\\nB1,2015-03-02,2015-03-02,12.30,EUR,Dupont,,RF340000000042\\n"
    >>> reader = StatementReader(data, StatementFormat.CSV)
    >>> [(t.bank_reference, t.amount, t.reference) for t in reader]
    [('B1', 1230, 'RF340000000042')]
    """

    def __init__(self, source: bytes | str | Path, file_format: str | None = None):
        self.format = parse_format(file_format, source)
        if isinstance(source, bytes):
            raw: IO[bytes] = io.BytesIO(source)
        else:
            try:
                raw = open(source, "rb")  # noqa: SIM115 - closed when iteration ends
            except OSError as err:
                raise refused(f"fichier illisible : {err.strerror or err}", "unreadable") from None
        self._file = _Hashing(raw)
        self.version = ""

    @property
    def sha256(self) -> str:
        return self._file.digest.hexdigest()

    @property
    def bytes_read(self) -> int:
        return self._file.bytes_read

    def __iter__(self) -> Iterator[BankTransaction]:
        try:
            if self.format is StatementFormat.CAMT053:
                yield from self._camt053()
            else:
                yield from self._csv()
            # Hash the rest (trailing whitespace after the root element).
            while self._file.read(1 << 20):
                pass
        finally:
            self._file.raw.close()

    # -----------------------------------------------------------------------------------------
    # camt.053

    def _camt053(self) -> Iterator[BankTransaction]:
        stream = io.BufferedReader(self._file, 1 << 20)
        events = ET.iterparse(stream, events=("start", "end"))
        index = entries = 0
        try:
            event, root = next(events)
            ns = _namespace(root.tag)
            self.version = CAMT053_NAMESPACES.get(ns, "")
            if not self.version:
                raise refused(
                    f"espace de noms {ns or '(aucun)'!r} : ce n'est pas un relevé camt.053 "
                    f"pris en charge ({', '.join(CAMT053_NAMESPACES.values())})",
                    "unsupported_format",
                )
            paths = _Paths(ns)
            stmt = None
            stmt_id = iban = ""
            stmt_count = 0
            for event, elem in events:
                tag = elem.tag
                if event == "start":
                    if tag == paths.stmt:
                        stmt, stmt_id, iban = elem, "", ""
                        stmt_count += 1
                    continue
                if tag == paths.ntry and stmt is not None:
                    if not iban:
                        iban = _statement_iban(stmt, paths, stmt_count)
                        stmt_id = _text(stmt, paths.Id)
                    entries += 1
                    for tx in _entry_transactions(elem, paths, entries, iban, stmt_id):
                        index += 1
                        yield tx._replace(index=index)
                    stmt.remove(elem)
                elif tag == paths.stmt:
                    if not iban:
                        _statement_iban(elem, paths, stmt_count)
                    elem.clear()
                    stmt = None
        except ET.ParseError as err:
            if self._file.bytes_read == 0:
                raise refused("fichier vide", "empty_file") from None
            line, column = err.position
            raise refused(
                f"fichier camt.053 mal formé, ligne {line}, colonne {column} : {_expat(err)} ; "
                "rien n'est importé",
                "malformed_xml",
            ) from None
        except StopIteration:
            raise refused("fichier vide", "empty_file") from None

    # -----------------------------------------------------------------------------------------
    # CSV

    def _csv(self) -> Iterator[BankTransaction]:
        text = io.TextIOWrapper(io.BufferedReader(self._file, 1 << 20), "utf-8-sig", newline="")
        try:
            rows = csv.reader(text)
            header = next(rows, None)
            if not header:
                raise refused("fichier vide", "empty_file")
            names = [h.strip().lower() for h in header]
            missing = [c for c in CSV_COLUMNS if c not in names]
            if missing:
                raise refused(
                    f"colonnes manquantes dans l'en-tête : {', '.join(missing)} "
                    f"(attendues : {', '.join(CSV_COLUMNS)})",
                    "missing_columns",
                )
            at = {name: i for i, name in enumerate(names)}
            index = 0
            for values in rows:
                if not any(v.strip() for v in values):
                    continue
                index += 1
                yield _csv_transaction(values, at, index, rows.line_num)
        except UnicodeDecodeError as err:
            raise refused(f"fichier non UTF-8 (octet {err.start})", "bad_encoding") from None
        except csv.Error as err:
            raise refused(f"CSV illisible : {err}", "malformed_csv") from None


def parse_format(file_format: str | None, source: bytes | str | Path = b"") -> StatementFormat:
    """The format asked for, or guessed from the file name / first bytes."""
    if file_format:
        try:
            return StatementFormat(file_format.lower().replace(".", "").replace("_", ""))
        except ValueError:
            known = ", ".join(f.value for f in StatementFormat)
            raise DomainError.single(
                "format", f"format inconnu : {file_format!r} (connus : {known})", "unknown_format"
            ) from None
    if isinstance(source, bytes):
        head = source[:200].lstrip()
        return StatementFormat.CAMT053 if head.startswith(b"<") else StatementFormat.CSV
    return StatementFormat.CSV if str(source).lower().endswith(".csv") else StatementFormat.CAMT053


# ---------------------------------------------------------------------------------------------
# camt.053 details


_TAGS = (
    *("Stmt", "Ntry", "Id", "Acct", "IBAN", "Amt", "CdtDbtInd", "AcctSvcrRef", "RvslInd"),
    *("Sts", "Cd", "BookgDt", "ValDt", "Dt", "DtTm", "NtryDtls", "TxDtls", "Refs", "EndToEndId"),
    *("AmtDtls", "TxAmt", "InstdAmt", "RltdPties", "Dbtr", "Nm", "Pty", "DbtrAcct", "RmtInf"),
    *("Strd", "CdtrRefInf", "Ref", "Ustrd", "RtrInf", "Rsn", "AddtlInf"),
)


class _Paths:
    """Tag names in the file's namespace, built once: elements are reached child by child
    (`find` with a plain tag runs in C; a path goes through ElementPath in Python)."""

    def __init__(self, ns: str):
        n = f"{{{ns}}}"
        for name in _TAGS:
            setattr(self, name, n + name)
        self.stmt, self.ntry, self.id = self.Stmt, self.Ntry, self.Id


def _at(elem: ET.Element | None, *tags: str) -> ET.Element | None:
    for tag in tags:
        if elem is None:
            return None
        elem = elem.find(tag)
    return elem


def _text(elem: ET.Element | None, *tags: str) -> str:
    found = _at(elem, *tags)
    return (found.text or "").strip() if found is not None else ""


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _expat(err: ET.ParseError) -> str:
    return str(err).split(":", 1)[0]


def _statement_iban(stmt: ET.Element, paths: _Paths, number: int) -> str:
    """The statement's account: a file whose account is unknown cannot be imported at all."""
    text = _text(stmt, paths.Acct, paths.Id, paths.IBAN)
    where = f"relevé n° {number} ({_text(stmt, paths.Id) or 'sans Id'})"
    if not text:
        raise refused(f"{where} : IBAN du compte (Stmt/Acct/Id/IBAN) manquant", "missing_account")
    problem = iban_problem(text, "Stmt/Acct/Id/IBAN")
    if problem is not None:
        raise refused(f"{where} : {problem.reason}", "bad_account_iban")
    return _compact_iban(text)


def _date_text(parent: ET.Element | None, paths: _Paths) -> str:
    return _text(parent, paths.Dt) or _text(parent, paths.DtTm)


def _entry_transactions(
    ntry: ET.Element, paths: _Paths, number: int, iban: str, stmt_id: str
) -> list[BankTransaction]:
    """One transaction per TxDtls (a batched entry gives several), or the entry alone."""
    P = paths
    where = f"écriture n° {number} (Ntry) du relevé {stmt_id or iban}"
    problems: list[Problem] = []
    child = {}
    for c in ntry:
        child.setdefault(c.tag, c)
    entry_ref = _text(child.get(P.AcctSvcrRef))
    if not entry_ref:
        problems.append(
            Problem("AcctSvcrRef", f"{where} : référence bancaire manquante", "required")
        )
        entry_ref = f"sans-ref:{stmt_id}:{number}"
    amt = child.get(P.Amt)
    currency = amt.get("Ccy", "") if amt is not None else ""
    cdi = _text(child.get(P.CdtDbtInd))
    if cdi not in ("CRDT", "DBIT"):
        problems.append(
            Problem(
                "CdtDbtInd", f"{where} : sens CRDT ou DBIT attendu, pas {cdi!r}", "bad_direction"
            )
        )
    direction = Direction.DEBIT if cdi == "DBIT" else Direction.CREDIT
    sts = child.get(P.Sts)
    status = (_text(sts, P.Cd) or _text(sts) or "BOOK") if sts is not None else "BOOK"
    if status != "BOOK":
        problems.append(
            Problem("Sts", f"{where} : écriture non comptabilisée (statut {status})", "not_booked")
        )
    if _text(child.get(P.RvslInd)).lower() == "true":
        problems.append(
            Problem("RvslInd", f"{where} : contre-passation bancaire à traiter à part", "reversal")
        )
    booking, booking_problem = _date(_date_text(child.get(P.BookgDt), P), "BookgDt", where)
    value, value_problem = _date(_date_text(child.get(P.ValDt), P), "ValDt", where)
    problems += [p for p in (booking_problem, value_problem) if p]
    dtls = child.get(P.NtryDtls)
    details = (dtls.findall(P.TxDtls) if dtls is not None else None) or [None]
    batched = len(details) > 1
    out = []
    for n, tx in enumerate(details, start=1):
        tx_problems = list(problems)
        ref = entry_ref
        text_amount = amt.text if amt is not None else None
        tx_currency = currency
        e2e = name = debtor_iban = reference = remittance = return_reason = original = ""
        if tx is not None:
            t = {}
            for c in tx:
                t.setdefault(c.tag, c)
            refs = t.get(P.Refs)
            if batched:
                ref = _text(refs, P.AcctSvcrRef) or f"{entry_ref}/{n}"
                tx_amt = t.get(P.Amt)
                if tx_amt is None:
                    tx_amt = _at(t.get(P.AmtDtls), P.TxAmt, P.Amt)
                if tx_amt is None:
                    tx_amt = _at(t.get(P.AmtDtls), P.InstdAmt, P.Amt)
                if tx_amt is None:
                    tx_problems.append(
                        Problem(
                            "TxDtls", f"{where}, transaction {n} : montant manquant", "required"
                        )
                    )
                    text_amount = None
                else:
                    text_amount, tx_currency = tx_amt.text, tx_amt.get("Ccy", "")
            e2e = _text(refs, P.EndToEndId)
            if e2e == "NOTPROVIDED":
                e2e = ""
            parties = t.get(P.RltdPties)
            if parties is not None:
                debtor = parties.find(P.Dbtr)
                name = _text(debtor, P.Nm) or _text(debtor, P.Pty, P.Nm)
                debtor_iban = _text(parties, P.DbtrAcct, P.Id, P.IBAN)
            rmt = t.get(P.RmtInf)
            if rmt is not None:
                reference = next(
                    (r for s in rmt.findall(P.Strd) if (r := _text(s, P.CdtrRefInf, P.Ref))), ""
                )
                remittance = " ".join((u.text or "").strip() for u in rmt.findall(P.Ustrd)).strip()
            rtr = t.get(P.RtrInf)
            if rtr is not None:
                return_reason = _text(rtr, P.Rsn, P.Cd)
                original = _text(rtr, P.AddtlInf)
        tx_where = f"{where}, transaction {n}" if batched else where
        cents, amount_problem = parse_amount(text_amount, "Amt", tx_where)
        if amount_problem:
            tx_problems.append(amount_problem)
        if tx_currency != CURRENCY:
            tx_problems.append(
                Problem(
                    "Amt/@Ccy",
                    f"{tx_where} : devise {tx_currency or '(absente)'} refusée, seul l'euro est "
                    "accepté",
                    "foreign_currency",
                )
            )
        if debtor_iban:
            iban_bad = iban_problem(debtor_iban, "DbtrAcct/Id/IBAN", tx_where)
            if iban_bad:
                tx_problems.append(iban_bad)
            else:
                debtor_iban = _compact_iban(debtor_iban)
        out.append(
            BankTransaction(
                0,
                tx_where,
                iban,
                stmt_id,
                ref,
                direction.value,
                cents,
                tx_currency,
                booking,
                value,
                e2e,
                name,
                debtor_iban,
                reference,
                remittance,
                return_reason,
                original,
                tuple(tx_problems),
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# CSV details


def _csv_transaction(values: list[str], at: dict[str, int], index: int, line: int):
    where = f"ligne {line}"

    def get(name: str) -> str:
        i = at.get(name)
        return values[i].strip() if i is not None and i < len(values) else ""

    problems: list[Problem] = []
    if len(values) != len(at):
        problems.append(
            Problem(
                "line", f"{where} : {len(values)} champs au lieu de {len(at)}", "bad_field_count"
            )
        )
    ref = get("bank_reference")
    if not ref:
        problems.append(
            Problem("bank_reference", f"{where} : référence bancaire manquante", "required")
        )
        ref = f"sans-ref:csv:{line}"
    text_amount = get("amount")
    direction = Direction.DEBIT if text_amount.startswith("-") else Direction.CREDIT
    cents, amount_problem = parse_amount(text_amount.lstrip("-"), "amount", where)
    if amount_problem:
        problems.append(amount_problem)
    currency = get("currency").upper()
    if currency != CURRENCY:
        problems.append(
            Problem(
                "currency",
                f"{where} : devise {currency or '(absente)'} refusée, seul l'euro est accepté",
                "foreign_currency",
            )
        )
    booking, p1 = _date(get("booking_date"), "booking_date", where)
    value, p2 = _date(get("value_date"), "value_date", where)
    problems += [p for p in (p1, p2) if p]
    account = get("account_iban")
    if account:
        bad = iban_problem(account, "account_iban", where)
        if bad:
            problems.append(bad)
        else:
            account = _compact_iban(account)
    debtor_iban = get("debtor_iban")
    if debtor_iban:
        bad = iban_problem(debtor_iban, "debtor_iban", where)
        if bad:
            problems.append(bad)
        else:
            debtor_iban = _compact_iban(debtor_iban)
    return BankTransaction(
        index=index,
        where=where,
        account_iban=account,
        statement_id="",
        bank_reference=ref,
        direction=direction.value,
        amount=cents,
        currency=currency,
        booking_date=booking,
        value_date=value,
        end_to_end_id=get("end_to_end_id"),
        debtor_name=get("debtor_name"),
        debtor_iban=debtor_iban,
        reference=get("reference"),
        remittance="",
        return_reason=get("return_reason"),
        original_reference=get("original_reference"),
        problems=tuple(problems),
    )


# ---------------------------------------------------------------------------------------------
# Values


def parse_amount(text: str | None, field: str, where: str) -> tuple[int | None, Problem | None]:
    """Positive integer cents from a decimal text; fractional cents are refused, never rounded.

    >>> parse_amount("1234.5", "Amt", "x")
    (123450, None)
    >>> parse_amount("0.001", "Amt", "x")[1].code
    'fractional_cents'
    """
    text = (text or "").strip()
    m = _AMOUNT.match(text)
    if m is None or m.group(1):
        if _AMOUNT_ANY.match(text) and not text.startswith("-"):
            return None, Problem(
                field, f"{where} : montant {text} avec des fractions de centime", "fractional_cents"
            )
        return None, Problem(field, f"{where} : montant illisible {text!r}", "bad_amount")
    cents = int(m.group(2)) * 100 + int((m.group(3) or "0").ljust(2, "0"))
    if cents == 0:
        return None, Problem(field, f"{where} : montant nul", "zero_amount")
    return cents, None


def _date(text: str, field: str, where: str) -> tuple[date | None, Problem | None]:
    if not text:
        return None, Problem(field, f"{where} : date {field} manquante", "required")
    try:
        return date.fromisoformat(text[:10]), None
    except ValueError:
        return None, Problem(field, f"{where} : date {field} illisible {text!r}", "bad_date")


@lru_cache(maxsize=65_536)
def _iban_reason(text: str) -> str | None:
    try:
        IBAN(text)
    except (SchwiftyException, ValueError) as err:
        return str(err)
    return None


def iban_problem(text: str, field: str, where: str = "") -> Problem | None:
    """An IBAN checked with schwifty (country, length, check digits, national format)."""
    reason = _iban_reason(text.replace(" ", "").upper())
    if reason is None:
        return None
    prefix = f"{where} : " if where else ""
    return Problem(field, f"{prefix}IBAN {text!r} invalide ({reason})", "bad_iban")


def _compact_iban(text: str) -> str:
    return text.replace(" ", "").upper()
