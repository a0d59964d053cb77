"""The file of the CACM's debt stock at 31 December 2012 (CSV or JSON Lines), read and checked line
by line.

Avenant du 18 décembre 2013, art. 3.2.1: the former Mayotte unemployment fund (CACM) handed the
CSSM « le stock des créances non prescrites et en cours de recouvrement au 31 décembre 2012 avec à
l'appui les pièces comptables de débit y afférentes ». One line is one accounting piece (pièce
comptable de débit): the employer, the period, the contribution item, the principal and the
surcharges still owed, the piece's reference and date, and where its recovery stood (amicable,
enforced, payment incident). The format is documented in docs/legacy-stock.md.

Two kinds of fault are told apart, as for the registration flows. A fault of the whole file (not
text, not UTF-8, a header line that cannot be read, missing columns, a line count that does not
match the header's) refuses the file: nothing is applied. A fault of one line only makes that line
a reject, kept with its line number, field and reason.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import PurePath

from recouvrement.adapters.files.registration_files import check_options, file_sha256, refused
from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.identifiers import validate_siren, validate_siret
from recouvrement.domain.money import parse_euros
from recouvrement.domain.periods import Period

MAX_FILE_BYTES = 64 * 1024 * 1024
FUND = "unedic"
# The CACM collected the unemployment-insurance contributions only (employer and employee shares,
# 2.4 % before 2013, LAW.md §7); AGS was not due in Mayotte (amendment art. 2.2).
ITEMS = ("unemployment_employer", "unemployment_employee")
SURCHARGE_ITEM = "surcharge_legacy"  # the surcharges the CACM had counted at the stock date


class LegacyStatus(StrEnum):
    """Where the recovery of a piece stood at the stock date (art. 3.2.1)."""

    AMICABLE = "amicable"  # recouvrement amiable
    ENFORCED = "enforced"  # recouvrement contentieux (mise en demeure, contrainte engagées)
    PAYMENT_INCIDENT = "payment_incident"  # incident de paiement (chèque ou prélèvement rejeté)
    # trop versé encaissé par la CACM: a credit of the employer, refundable by the CSSM within the
    # limitation (art. 3.2.1, first indent); `principal` is the amount cashed in excess and
    # `status_date` (else `piece_date`) the day it was cashed
    OVERPAID = "overpaid"


COLUMNS = (
    "siren",
    "siret",
    "period",
    "item",
    "principal",
    "surcharges",
    "piece_reference",
    "piece_date",
    "due_date",
    "status",
    "status_date",
)
REQUIRED = ("siren", "period", "item", "principal", "piece_reference", "piece_date", "status")
HEADER_KEYS = ("issuer", "stock_date", "control_total", "line_count")


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


@dataclass(frozen=True)
class LegacyLine:
    """One accounting piece, checked.

    Attributes:
        line: line of the file (1 = first line).
        siren, siret: the employer (the SIRET, optional, names the establishment).
        period: canonical ledger period, ending on or before the stock date.
        item: principal item; fund is always Unédic.
        principal, surcharges: cents still owed at the stock date.
        piece_reference, piece_date: the accounting piece (pièce comptable de débit).
        due_date: the date the debt fell due (exigibilité); the piece date when not given.
        status, status_date: where the recovery stood, and since when.
    """

    line: int
    siren: str
    siret: str | None
    period: str
    item: str
    principal: int
    surcharges: int
    piece_reference: str
    piece_date: date
    due_date: date
    status: LegacyStatus
    status_date: date | None

    @property
    def amount(self) -> int:
        """What the line weighs in the file's total: a debt, or a credit (trop versé)."""
        return self.principal + self.surcharges

    @property
    def is_credit(self) -> bool:
        return self.status is LegacyStatus.OVERPAID


@dataclass(frozen=True)
class RejectedLine:
    line: int
    problems: tuple[Problem, ...]
    record: dict
    amount: int | None  # the line's amount when it could be read, for the reconciliation


@dataclass(frozen=True)
class LegacyFile:
    format: FileFormat
    sha256: str
    header: dict
    lines: tuple[LegacyLine, ...]
    rejected: tuple[RejectedLine, ...]

    @property
    def file_total(self) -> int:
        """Principal and surcharges of every line whose amounts could be read."""
        return sum(x.amount for x in self.lines) + sum(r.amount or 0 for r in self.rejected)


def read_legacy_file(
    data: bytes, file_name: str = "", file_format: str | None = None
) -> LegacyFile:
    """The checked lines and the rejects of a stock file, or DomainError for a malformed file."""
    if len(data) > MAX_FILE_BYTES:
        raise refused(f"fichier trop volumineux : {len(data)} octets", "too_large")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise refused(
            f"le fichier n'est pas en UTF-8 : octet 0x{data[err.start]:02X} invalide à la ligne "
            f"{line}",
            "bad_encoding",
        ) from None
    if not text.strip():
        raise refused("fichier vide", "empty_file")
    if "\x00" in text:
        raise refused("caractère nul : ce n'est pas un fichier texte", "binary")
    fmt = _format(file_name, file_format, text)
    header, raw = _read_csv(text) if fmt is FileFormat.CSV else _read_jsonl(text)
    header = _check_header(header)
    if not raw:
        raise refused("le fichier ne contient aucune pièce", "no_records")
    if header.get("line_count") is not None and header["line_count"] != len(raw):
        raise refused(
            f"l'en-tête annonce {header['line_count']} pièces, le fichier en contient {len(raw)} : "
            "fichier incomplet ou altéré, rien n'est appliqué",
            "line_count_mismatch",
        )
    stock_date = header["stock_date"]
    lines: list[LegacyLine] = []
    rejected: list[RejectedLine] = []
    seen: dict[str, int] = {}
    for number, record, problem in raw:
        if problem is not None:
            rejected.append(RejectedLine(number, (problem,), record, None))
            continue
        checked = check_line(number, record, stock_date)
        if isinstance(checked, RejectedLine):
            rejected.append(checked)
            continue
        first = seen.setdefault(checked.piece_reference, number)
        if first != number:
            problem = Problem(
                "piece_reference",
                f"pièce {checked.piece_reference} déjà présente à la ligne {first}",
                "duplicate_piece",
            )
            rejected.append(RejectedLine(number, (problem,), record, checked.amount))
            continue
        lines.append(checked)
    return LegacyFile(fmt, file_sha256(data), header, tuple(lines), tuple(rejected))


def _format(file_name: str, file_format: str | None, text: str) -> FileFormat:
    if file_format:
        check_options(file_format, None)
        return FileFormat(file_format.lower())
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix == ".csv":
        return FileFormat.CSV
    if suffix in (".jsonl", ".ndjson"):
        return FileFormat.JSONL
    return FileFormat.JSONL if text.lstrip().startswith("{") else FileFormat.CSV


def _header_pairs(text: str) -> dict:
    """`#stock_date=2012-12-31;control_total=1234.56` → {"stock_date": …, …}."""
    out: dict = {}
    for part in text.lstrip("#").split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise refused(
                f"en-tête illisible : {part.strip()!r} (attendu clé=valeur)", "bad_header"
            )
        out[key.strip().lower()] = value.strip()
    return out


def _read_csv(text: str) -> tuple[dict, list[tuple[int, dict, Problem | None]]]:
    header: dict = {}
    body: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            if body:
                raise refused(
                    f"ligne d'en-tête « # » après les données (ligne {number})", "bad_header"
                )
            header.update(_header_pairs(line))
        elif line.strip():
            body.append((number, line))
    if not body:
        raise refused("aucune ligne de colonnes", "bad_header")
    first_no, first = body[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    names = [c.strip().lower() for c in next(csv.reader([first], delimiter=delimiter))]
    _check_columns(names, first_no)
    out: list[tuple[int, dict, Problem | None]] = []
    for number, line in body[1:]:
        try:
            row = next(csv.reader(io.StringIO(line), delimiter=delimiter, strict=True))
        except csv.Error as err:
            out.append((number, {"raw": line}, Problem("", f"CSV mal formé : {err}", "bad_csv")))
            continue
        if len(row) != len(names):
            problem = Problem(
                "",
                f"la ligne compte {len(row)} champs, l'en-tête en compte {len(names)}",
                "bad_columns",
            )
            out.append((number, {"raw": line}, problem))
            continue
        out.append((number, {k: v.strip() for k, v in zip(names, row, strict=True)}, None))
    return header, out


def _check_columns(names: list[str], line: int) -> None:
    problems = [f"colonne inconnue : {n!r}" for n in names if n not in COLUMNS]
    problems += [f"colonne en double : {n!r}" for n in set(names) if names.count(n) > 1]
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        problems.append("colonnes obligatoires absentes : " + ", ".join(missing))
    if problems:
        raise refused(
            f"en-tête des colonnes (ligne {line}) : " + " ; ".join(problems), "bad_header"
        )


def _read_jsonl(text: str) -> tuple[dict, list[tuple[int, dict, Problem | None]]]:
    header: dict = {}
    out: list[tuple[int, dict, Problem | None]] = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_float=str, parse_constant=_no_constant)
        except ValueError as err:
            out.append((number, {"raw": line}, Problem("", f"JSON invalide : {err}", "bad_json")))
            continue
        if not isinstance(value, dict):
            problem = Problem("", "chaque ligne doit être un objet JSON {…}", "not_an_object")
            out.append((number, {"raw": line}, problem))
            continue
        if "header" in value:
            if out or header or not isinstance(value["header"], dict):
                raise refused(
                    f'ligne {number} : l\'en-tête {{"header": {{…}}}} doit être la première '
                    "ligne, une seule fois",
                    "bad_header",
                )
            header = {str(k).lower(): v for k, v in value["header"].items()}
            continue
        unknown = sorted(set(value) - set(COLUMNS))
        if unknown:
            problem = Problem(unknown[0], f"champ inconnu : {', '.join(unknown)}", "unknown_field")
            out.append((number, {"raw": line}, problem))
            continue
        out.append((number, {k: "" if v is None else str(v) for k, v in value.items()}, None))
    return header, out


def _no_constant(name: str) -> object:
    raise ValueError(f"valeur non JSON : {name}")


def _check_header(raw: dict) -> dict:
    """The header's values, typed: stock date (required), control total and line count."""
    unknown = sorted(set(raw) - set(HEADER_KEYS))
    if unknown:
        raise refused(f"en-tête : clé inconnue {', '.join(unknown)}", "bad_header")
    if not raw.get("stock_date"):
        raise refused(
            "en-tête : stock_date obligatoire (date du stock transmis, 2012-12-31)", "bad_header"
        )
    header: dict = {"issuer": str(raw.get("issuer") or "CACM")}
    try:
        header["stock_date"] = date.fromisoformat(str(raw["stock_date"]))
        control = raw.get("control_total")
        header["control_total"] = (
            None if control in (None, "") else parse_euros(str(control), "control_total")
        )
        count = raw.get("line_count")
        header["line_count"] = None if count in (None, "") else int(str(count))
    except DomainError as err:
        raise refused(f"en-tête : {err}", "bad_header") from None
    except ValueError as err:
        raise refused(f"en-tête illisible : {err}", "bad_header") from None
    return header


def _date(record: dict, name: str, problems: list[Problem], required: bool = True) -> date | None:
    text = (record.get(name) or "").strip()
    if not text:
        if required:
            problems.append(Problem(name, f"{name} obligatoire", "required"))
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(
            Problem(name, f"date illisible : {text!r} (attendu AAAA-MM-JJ)", "bad_date")
        )
        return None


def check_line(number: int, record: dict, stock_date: date) -> LegacyLine | RejectedLine:
    """One piece checked against the format and the amendment: every problem named at once."""
    problems: list[Problem] = []

    def attempt(fn, *args):
        try:
            return fn(*args)
        except DomainError as err:
            problems.extend(err.problems)
            return None

    siren = attempt(validate_siren, record.get("siren") or "", "siren")
    siret = None
    if record.get("siret"):
        siret = attempt(validate_siret, record["siret"], "siret", siren)
    period = attempt(Period.parse, record.get("period") or "", "period")
    if period is not None and str(period) != (record.get("period") or "").strip():
        problems.append(Problem("period", f"période à écrire {period}", "bad_period"))
    elif period is not None and period.end > stock_date:
        problems.append(
            Problem(
                "period",
                f"période {period} postérieure au {stock_date:%d/%m/%Y} : seules les "
                "rémunérations versées avant le 1er janvier 2013 relèvent du stock de la CACM "
                "(avenant du 18 décembre 2013, art. 3.2.1)",
                "after_stock_date",
            )
        )
    item = (record.get("item") or "").strip()
    if item not in ITEMS:
        problems.append(
            Problem(
                "item", f"rubrique inconnue : {item!r} (attendu {', '.join(ITEMS)})", "bad_item"
            )
        )
    principal = attempt(parse_euros, record.get("principal") or "", "principal")
    surcharges = attempt(parse_euros, record.get("surcharges") or "0", "surcharges")
    if principal is not None and surcharges is not None and principal + surcharges == 0:
        problems.append(Problem("principal", "pièce sans montant dû", "zero_amount"))
    reference = (record.get("piece_reference") or "").strip()
    if not reference or len(reference) > 64 or any(c.isspace() for c in reference):
        problems.append(
            Problem(
                "piece_reference",
                "référence de pièce obligatoire, sans espace, 64 caractères au plus",
                "bad_reference",
            )
        )
    piece_date = _date(record, "piece_date", problems)
    due_date = _date(record, "due_date", problems, required=False) or piece_date
    if piece_date is not None and piece_date > stock_date:
        problems.append(
            Problem("piece_date", f"pièce datée après le stock du {stock_date}", "after_stock_date")
        )
    status_text = (record.get("status") or "").strip()
    try:
        status = LegacyStatus(status_text)
    except ValueError:
        status = None
        known = ", ".join(s.value for s in LegacyStatus)
        problems.append(
            Problem("status", f"état inconnu : {status_text!r} (attendu {known})", "bad_status")
        )
    status_date = _date(record, "status_date", problems, required=False)
    if status is LegacyStatus.OVERPAID and surcharges:
        problems.append(
            Problem("surcharges", "un trop versé ne porte pas de majorations", "bad_amount")
        )
    if status_date is not None and status_date > stock_date:
        problems.append(
            Problem("status_date", f"date postérieure au stock du {stock_date}", "after_stock_date")
        )
    amount = None if principal is None or surcharges is None else principal + surcharges
    if problems:
        return RejectedLine(number, tuple(problems), record, amount)
    return LegacyLine(
        number,
        siren,
        siret,
        str(period),
        item,
        principal,
        surcharges,
        reference,
        piece_date,
        due_date,
        status,
        status_date,
    )
