"""Reading registration-flow files (CSV or JSON Lines) into raw records, each with its line number.

Two kinds of fault are told apart. A fault of the whole file (empty, not UTF-8, a header without
the required columns, broken CSV quoting) refuses the file: nothing can be trusted, so nothing is
recorded. A fault of one line (a malformed JSON line, a CSV line with the wrong number of fields)
only makes that line a reject: the rest of the flow is still applied. The column format is
described in docs/registration-flows.md.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.registration import FIELDS, REQUIRED_COLUMNS

MAX_FILE_BYTES = 64 * 1024 * 1024


class FileFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


@dataclass(frozen=True)
class RawRecord:
    """One record as read, before any validation.

    Attributes:
        line: the line of the file where the record starts (1 = first line, header included).
        values: column → value; for a line that could not be read, {"raw": <the line>}.
        problem: set when the line could not be read as a record at all.
    """

    line: int
    values: dict
    problem: Problem | None = None


@dataclass(frozen=True)
class RegistrationFile:
    format: FileFormat
    sha256: str
    records: tuple[RawRecord, ...]


def file_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def refused(reason: str, code: str, field: str = "file") -> DomainError:
    return DomainError(Problem(field, reason, code))


def read_registration_file(
    data: bytes, file_name: str = "", file_format: str | None = None, encoding: str | None = None
) -> RegistrationFile:
    """The records of a flow file, or DomainError (field "file", "format" or "encoding")."""
    if len(data) > MAX_FILE_BYTES:
        raise refused(
            f"fichier trop volumineux : {len(data)} octets (au plus {MAX_FILE_BYTES})", "too_large"
        )
    text = _decode(data, encoding)
    if not text.strip():
        raise refused("fichier vide", "empty_file")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise refused(f"caractère nul à la ligne {line} : ce n'est pas un fichier texte", "binary")
    fmt = _format(file_name, file_format, text)
    records = _read_csv(text) if fmt is FileFormat.CSV else _read_jsonl(text)
    if not records:
        raise refused("le fichier ne contient aucun enregistrement", "no_records")
    return RegistrationFile(fmt, file_sha256(data), tuple(records))


def check_options(file_format: str | None, encoding: str | None) -> str:
    """The codec name for `encoding`; refuses an unknown format or encoding before any work."""
    if file_format and file_format.lower() not in {f.value for f in FileFormat}:
        raise refused(
            f"format inconnu : {file_format!r} (attendu csv ou jsonl)", "unknown_format", "format"
        )
    if not encoding:
        return "utf-8"
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise refused(f"encodage inconnu : {encoding!r}", "unknown_encoding", "encoding") from None


def _decode(data: bytes, encoding: str | None) -> str:
    name = check_options(None, encoding)
    if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if name == "utf-8" and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise refused(
            "le fichier est en UTF-16 : enregistrez-le en UTF-8 ou indiquez son encodage "
            "(--encoding utf-16)",
            "bad_encoding",
        )
    try:
        return data.decode(name)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        advice = (
            "convertissez-le en UTF-8 ou indiquez son encodage (par exemple --encoding latin-1)"
            if name == "utf-8"
            else "vérifiez l'encodage indiqué"
        )
        raise refused(
            f"le fichier n'est pas en {name} : octet 0x{data[err.start]:02X} invalide à la "
            f"ligne {line} ; {advice}",
            "bad_encoding",
        ) from None


def _format(file_name: str, file_format: str | None, text: str) -> FileFormat:
    if file_format:
        check_options(file_format, None)
        return FileFormat(file_format.lower())
    suffix = PurePath(file_name or "").suffix.lower()
    if suffix == ".csv":
        return FileFormat.CSV
    if suffix in (".jsonl", ".ndjson", ".json"):
        return FileFormat.JSONL
    return FileFormat.JSONL if text.lstrip().startswith("{") else FileFormat.CSV


def _read_csv(text: str) -> list[RawRecord]:
    first = next(line for line in text.splitlines() if line.strip())
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    records: list[RawRecord] = []
    previous_end = 0
    try:
        for row in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = _header(row, start)
                continue
            if len(row) != len(header):
                problem = Problem(
                    "",
                    f"la ligne compte {len(row)} champs, l'en-tête en compte {len(header)} "
                    f"(séparateur « {delimiter} »)",
                    "bad_columns",
                )
                records.append(RawRecord(start, {"raw": delimiter.join(row)}, problem))
                continue
            records.append(RawRecord(start, dict(zip(header, row, strict=True))))
    except csv.Error as err:
        raise refused(f"CSV mal formé à la ligne {reader.line_num} : {err}", "bad_csv") from None
    return records


def _header(row: list[str], line: int) -> list[str]:
    names = [cell.strip().lower() for cell in row]
    problems = []
    for position, name in enumerate(names, 1):
        if not name:
            problems.append(f"colonne {position} sans nom")
        elif name not in FIELDS:
            problems.append(f"colonne inconnue : {name!r}")
        elif names.index(name) != position - 1:
            problems.append(f"colonne en double : {name!r}")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        problems.append("colonnes obligatoires absentes : " + ", ".join(missing))
    if problems:
        raise refused(f"en-tête (ligne {line}) : " + " ; ".join(problems), "bad_header")
    return names


class _DuplicateKey(ValueError):
    pass


def _object(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constant(name: str) -> object:
    # NaN and Infinity are not JSON; PostgreSQL would refuse to store them in the reject.
    raise ValueError(f"valeur non JSON : {name}")


def _unstorable(value: object) -> bool:
    """A NUL character or a lone surrogate (from a "\\ud800" escape): no database text holds them."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(v) for v in value)
    return False


def _read_jsonl(text: str) -> list[RawRecord]:
    records: list[RawRecord] = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        raw = {"raw": line}
        try:
            value = json.loads(line, object_pairs_hook=_object, parse_constant=_no_constant)
        except _DuplicateKey as err:
            problem = Problem(str(err), f"champ en double : {err}", "duplicate_field")
            records.append(RawRecord(number, raw, problem))
            continue
        except json.JSONDecodeError as err:
            problem = Problem("", f"JSON invalide : {err.msg} (colonne {err.colno})", "bad_json")
            records.append(RawRecord(number, raw, problem))
            continue
        except ValueError as err:
            records.append(
                RawRecord(number, raw, Problem("", f"JSON invalide : {err}", "bad_json"))
            )
            continue
        if not isinstance(value, dict):
            problem = Problem("", "chaque ligne doit être un objet JSON {…}", "not_an_object")
            records.append(RawRecord(number, raw, problem))
            continue
        if _unstorable(value):
            problem = Problem(
                "", "caractère nul ou demi-caractère UTF-16 isolé dans une valeur", "bad_json"
            )
            records.append(RawRecord(number, raw, problem))
            continue
        records.append(RawRecord(number, value))
    return records
