"""Reading an agents file (YAML or CSV) into roster entries; the format is in docs/agents.md.

The file is the annex of the ISU agreement listing the agents of the joint organisation (art. 3),
with each agent's roles, authorizations and trainings. Every fault is named with where it is (the
YAML path or the CSV line) and the whole file is refused when there is one: a roster half loaded
would leave agents with half their rights.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import PurePath

import yaml

from recouvrement.domain.authorizations import (
    Authorization,
    TrainingRecord,
    authorization_problems,
    training_problems,
)
from recouvrement.domain.errors import DomainError, Problem
from recouvrement.services.agent_roster import RosterAgent

CSV_COLUMNS = (
    "kind",
    "login",
    "name",
    "organisation",
    "roles",
    "activity",
    "training",
    "valid_from",
    "valid_to",
    "completed_on",
    "expires_on",
)
CSV_KINDS = ("agent", "authorization", "training")
LOADER = "chargement"  # stands for the operator in the four-eyes check of the file's own grants


class _Faults:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: str, field: str, reason: str, code: str = "invalid") -> None:
        sep = " › " if where.startswith("ligne") else "."
        self.problems.append(Problem(f"{where}{sep}{field}" if field else where, reason, code))


def _date(value, where: str, field: str, faults: _Faults, required: bool) -> date | None:
    if value in (None, ""):
        if required:
            faults.add(where, field, "date obligatoire", "required")
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        faults.add(where, field, f"date invalide {value!r} (attendu AAAA-MM-JJ)", "bad_date")
        return None


def _text(raw: dict, key: str, where: str, faults: _Faults, required: bool = True) -> str:
    value = raw.get(key)
    value = "" if value is None else str(value).strip()
    if required and not value:
        faults.add(where, key, "valeur obligatoire", "required")
    return value


def _grant(login: str, raw: dict, where: str, faults: _Faults) -> Authorization | None:
    grant = Authorization(
        login,
        _text(raw, "activity", where, faults),
        LOADER,
        _date(raw.get("valid_from"), where, "valid_from", faults, True) or date.min,
        _date(raw.get("valid_to"), where, "valid_to", faults, False),
        _text(raw, "training", where, faults, required=False) or None,
    )
    for p in authorization_problems(grant):
        if p.code != "required":  # a missing activity was named above
            faults.add(where, p.field, p.reason, p.code)
    return grant


def _training(login: str, raw: dict, where: str, faults: _Faults) -> TrainingRecord:
    record = TrainingRecord(
        login,
        _text(raw, "training", where, faults),
        _date(raw.get("completed_on"), where, "completed_on", faults, True) or date.min,
        _date(raw.get("expires_on"), where, "expires_on", faults, False),
    )
    for p in training_problems(record):
        if p.code != "required":
            faults.add(where, p.field, p.reason, p.code)
    return record


def _roles(value, where: str, faults: _Faults) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [r for r in value.replace("|", ";").split(";")]
    if not isinstance(value, list):
        faults.add(where, "roles", "liste de rôles attendue", "bad_roles")
        return ()
    roles = tuple(str(r).strip() for r in value if str(r).strip())
    if not roles:
        faults.add(where, "roles", "au moins un rôle", "required")
    return roles


def parse_yaml(text: str) -> tuple[list[RosterAgent], list[Problem]]:
    faults = _Faults()
    try:
        # Every scalar as text: a date such as 2015-02-30 is then reported where it is, instead of
        # failing the whole parse.
        data = yaml.load(text, Loader=yaml.BaseLoader)  # BaseLoader builds no object
    except yaml.YAMLError as err:
        raise DomainError.single("", f"YAML illisible ({err})", "bad_file") from None
    if not isinstance(data, dict) or not isinstance(data.get("agents"), list):
        raise DomainError.single("agents", "liste « agents » attendue à la racine", "bad_file")
    out = []
    for i, raw in enumerate(data["agents"]):
        where = f"agents[{i}]"
        if not isinstance(raw, dict):
            faults.add(where, "", "table attendue (login, name, organisation, roles…)", "bad_file")
            continue
        login = _text(raw, "login", where, faults)
        grants = [
            _grant(login, g if isinstance(g, dict) else {}, f"{where}.authorizations[{j}]", faults)
            for j, g in enumerate(raw.get("authorizations") or [])
        ]
        trainings = [
            _training(login, t if isinstance(t, dict) else {}, f"{where}.trainings[{j}]", faults)
            for j, t in enumerate(raw.get("trainings") or [])
        ]
        out.append(
            RosterAgent(
                where,
                login,
                _text(raw, "name", where, faults),
                _text(raw, "organisation", where, faults),
                _roles(raw.get("roles"), where, faults),
                tuple(grants),
                tuple(trainings),
            )
        )
    return out, faults.problems


def parse_csv(text: str) -> tuple[list[RosterAgent], list[Problem]]:
    faults = _Faults()
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("kind", "login") if c not in (reader.fieldnames or [])]
    if missing:
        raise DomainError.single(
            "",
            f"colonnes manquantes : {', '.join(missing)} (attendu : {','.join(CSV_COLUMNS)})",
            "bad_file",
        )
    agents: dict[str, dict] = {}
    extra: list[tuple[str, str, object]] = []
    for row in reader:
        where = f"ligne {reader.line_num}"
        if None in row:
            faults.add(where, "", "trop de champs sur la ligne", "bad_line")
            continue
        kind = _text(row, "kind", where, faults)
        login = _text(row, "login", where, faults)
        if kind == "agent":
            if login in agents:
                faults.add(where, "login", f"agent {login} déjà décrit", "duplicate")
                continue
            agents[login] = {
                "where": where,
                "name": _text(row, "name", where, faults),
                "organisation": _text(row, "organisation", where, faults),
                "roles": _roles(row.get("roles") or "", where, faults),
                "grants": [],
                "trainings": [],
            }
        elif kind == "authorization":
            extra.append((login, "grants", _grant(login, row, where, faults)))
        elif kind == "training":
            extra.append((login, "trainings", _training(login, row, where, faults)))
        elif kind:
            faults.add(where, "kind", f"« {' », « '.join(CSV_KINDS)} » attendu, lu {kind!r}")
    for login, key, item in extra:
        if login in agents:
            agents[login][key].append(item)
        elif login:
            # Rights for an agent already known are allowed: the service checks the login.
            agents[login] = {
                "where": f"agent {login}",
                "name": "",
                "organisation": "",
                "roles": (),
                "grants": [item] if key == "grants" else [],
                "trainings": [item] if key == "trainings" else [],
            }
    out = [
        RosterAgent(
            a["where"],
            login,
            a["name"],
            a["organisation"],
            a["roles"],
            tuple(a["grants"]),
            tuple(a["trainings"]),
        )
        for login, a in agents.items()
    ]
    return out, faults.problems


def read_roster(name: str, data: bytes) -> list[RosterAgent]:
    """The entries of an agents file; raises DomainError listing every fault found."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError.single("", "fichier non UTF-8", "bad_encoding") from None
    suffix = PurePath(name).suffix.lower()
    if suffix in (".yaml", ".yml"):
        entries, problems = parse_yaml(text)
    elif suffix == ".csv":
        entries, problems = parse_csv(text)
    else:
        raise DomainError.single("", f"format inconnu {suffix!r} : .yaml, .yml ou .csv", "bad_file")
    if problems:
        raise DomainError(*problems)
    return entries
