"""Registration-flow records (RI46): one record of an affiliation, change or deregistration flow.

The ISU agreement (art. 4) puts the handling of rejects of these automatic flows in the joint
organisation: a record either parses into one of the three typed records below or yields the list
of every problem found, each naming its field, so the agent working the reject sees all of them at
once. Parsing is pure: whether the contributor exists is the service's question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from recouvrement.domain.contributors import (
    Activity,
    ContributorDraft,
    ContributorKind,
    Establishment,
    validate_contributor,
)
from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.identifiers import (
    validate_nir,
    validate_siren,
    validate_siret,
    validate_territory,
)

MAX_RECORD_ID = 100  # registration_applied.record_id is VARCHAR(100)
MAX_NAME = 255
EARLIEST_DATE = date(1900, 1, 1)

FIELDS = (
    "record_id",
    "action",
    "effective_date",
    "kind",
    "organisation",
    "name",
    "territory",
    "nir",
    "activity",
    "activity_start",
    "address",
    "siren",
    "siret",
    "establishment_territory",
    "public_sector",
)
REQUIRED_COLUMNS = ("record_id", "action", "effective_date", "kind")

_TRUE = {"1", "true", "oui", "o", "yes", "y"}
_FALSE = {"0", "false", "non", "n", "no"}


class RegistrationAction(StrEnum):
    AFFILIATION = "affiliation"
    CHANGE = "change"
    DEREGISTRATION = "deregistration"


@dataclass(frozen=True)
class Affiliation:
    """A new contributor and its account.

    Attributes:
        record_id: the record's id in the flow, its idempotency key.
        effective_date: date of the affiliation; the account is opened on it.
        draft: the validated contributor (identifiers compacted), with at most one establishment.
    """

    record_id: str
    effective_date: date
    draft: ContributorDraft

    action = RegistrationAction.AFFILIATION


@dataclass(frozen=True)
class Change:
    """New values for the fields a flow may change on a known contributor; None leaves a field as is.

    Attributes:
        kind: tells which identifier finds the contributor (nir or siren).
        identifier: the NIR (self-employed) or the SIREN (employer), compacted.
        organisation: when given, must be the contributor's managing organisation.
        siret, establishment_territory: an establishment to add (employers only); when the
            territory is not given, the change's territory or else the contributor's is used.
    """

    record_id: str
    effective_date: date
    kind: ContributorKind
    identifier: str
    organisation: str | None = None
    name: str | None = None
    address: str | None = None
    territory: str | None = None
    activity: Activity | None = None
    siret: str | None = None
    establishment_territory: str | None = None

    action = RegistrationAction.CHANGE


@dataclass(frozen=True)
class Deregistration:
    """The end of a contributor's activity on effective_date.

    Attributes:
        identifier: the NIR (self-employed) or the SIREN (employer), compacted.
        organisation: when given, must be the contributor's managing organisation.
    """

    record_id: str
    effective_date: date
    kind: ContributorKind
    identifier: str
    organisation: str | None = None

    action = RegistrationAction.DEREGISTRATION


RegistrationRecord = Affiliation | Change | Deregistration

# Which optional fields each action may carry: anything else filled in would be silently ignored,
# so it is refused instead (the sender learns their flow does not do what they think).
_ALLOWED = {
    (RegistrationAction.AFFILIATION, ContributorKind.SELF_EMPLOYED): {
        "organisation", "name", "territory", "nir", "activity", "activity_start", "address",
    },
    (RegistrationAction.AFFILIATION, ContributorKind.EMPLOYER): {
        "organisation", "name", "territory", "address", "siren", "siret",
        "establishment_territory", "public_sector",
    },
    (RegistrationAction.CHANGE, ContributorKind.SELF_EMPLOYED): {
        "organisation", "name", "territory", "nir", "activity", "address",
    },
    (RegistrationAction.CHANGE, ContributorKind.EMPLOYER): {
        "organisation", "name", "territory", "address", "siren", "siret",
        "establishment_territory",
    },
    (RegistrationAction.DEREGISTRATION, ContributorKind.SELF_EMPLOYED): {"organisation", "nir"},
    (RegistrationAction.DEREGISTRATION, ContributorKind.EMPLOYER): {"organisation", "siren"},
}  # fmt: skip
_ACTION_LABEL = {
    RegistrationAction.AFFILIATION: "une affiliation",
    RegistrationAction.CHANGE: "une modification",
    RegistrationAction.DEREGISTRATION: "une radiation",
}
_KIND_LABEL = {
    ContributorKind.SELF_EMPLOYED: "d'indépendant",
    ContributorKind.EMPLOYER: "d'employeur",
}


class _Reader:
    """Collects problems while turning raw values into typed ones, so all are reported at once."""

    def __init__(self, raw: Mapping[str, object]):
        self.raw = raw
        self.problems: list[Problem] = []

    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None or isinstance(value, bool):
            if isinstance(value, bool):
                self.fail(name, "une valeur texte est attendue, pas un booléen", "bad_type")
            return None
        if isinstance(value, int | str):
            out = str(value).strip()
            return out or None
        self.fail(name, f"type de valeur non accepté : {type(value).__name__}", "bad_type")
        return None

    def required(self, name: str, reason: str) -> str | None:
        value = self.text(name)
        if value is None and not any(p.field == name for p in self.problems):
            self.fail(name, reason, "required")
        return value

    def date(self, name: str) -> date | None:
        value = self.text(name)
        if value is None:
            return None
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                parsed = datetime.strptime(value, fmt).date()
            except ValueError:
                continue
            if parsed < EARLIEST_DATE:
                self.fail(name, f"date invraisemblable : {value!r}", "bad_date")
                return None
            return parsed
        self.fail(name, f"date invalide : {value!r} (attendu AAAA-MM-JJ ou JJ/MM/AAAA)", "bad_date")
        return None

    def boolean(self, name: str) -> bool | None:
        value = self.raw.get(name)
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int | str):
            word = str(value).strip().lower()
            if not word:
                return None
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
        self.fail(name, f"valeur non reconnue : {value!r} (attendu oui/non, true/false, 1/0)")
        return None

    def choice(self, name: str, enum, labels: str) -> object | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return enum(value.lower())
        except ValueError:
            self.fail(name, f"valeur inconnue : {value!r} (attendu {labels})", "unknown_value")
            return None

    def check(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as err:
            self.problems.extend(err.problems)
            return None

    def fail(self, field: str, reason: str, code: str = "invalid") -> None:
        problem = Problem(field, reason, code)
        if problem not in self.problems:  # a value read twice is still one problem
            self.problems.append(problem)


def parse_record(raw: Mapping[str, object]) -> tuple[RegistrationRecord | None, list[Problem]]:
    """One raw record (column → value) as a typed record, or None and every problem found.

    Empty strings and nulls count as absent. Unknown fields are problems: a misspelt column must
    not pass silently.
    """
    r = _Reader(raw)
    for name in raw:
        if name not in FIELDS:
            r.fail(name, f"champ inconnu : {name!r}", "unknown_field")
    record_id = r.required("record_id", "identifiant d'enregistrement obligatoire")
    if record_id is not None and len(record_id) > MAX_RECORD_ID:
        r.fail(
            "record_id", f"identifiant trop long (plus de {MAX_RECORD_ID} caractères)", "too_long"
        )
    action = r.choice("action", RegistrationAction, "affiliation, change ou deregistration")
    if action is None and "action" not in {p.field for p in r.problems}:
        r.fail("action", "action obligatoire : affiliation, change ou deregistration", "required")
    effective_date = r.date("effective_date")
    if effective_date is None and "effective_date" not in {p.field for p in r.problems}:
        r.fail("effective_date", "date d'effet obligatoire", "required")
    kind = r.choice("kind", ContributorKind, "self_employed ou employer")
    if kind is None and "kind" not in {p.field for p in r.problems}:
        r.fail("kind", "type de cotisant obligatoire : self_employed ou employer", "required")
    name = r.text("name")
    if name is not None and len(name) > MAX_NAME:
        r.fail("name", f"nom trop long (plus de {MAX_NAME} caractères)", "too_long")
    if action is None or kind is None:
        return None, r.problems
    allowed = _ALLOWED[(action, kind)]
    for field in FIELDS[4:]:
        if field not in allowed and _filled(raw.get(field)):
            r.fail(
                field,
                f"champ non accepté pour {_ACTION_LABEL[action]} {_KIND_LABEL[kind]}",
                "unexpected",
            )
    if action is RegistrationAction.AFFILIATION:
        record = _affiliation(r, record_id, effective_date, kind)
    elif action is RegistrationAction.CHANGE:
        record = _change(r, record_id, effective_date, kind)
    else:
        identifier = _identifier(r, kind)
        record = Deregistration(record_id, effective_date, kind, identifier, r.text("organisation"))
    if r.problems:
        return None, r.problems
    return record, []


def _filled(value: object) -> bool:
    return value is not None and value is not False and str(value).strip() != ""


def _identifier(r: _Reader, kind: ContributorKind) -> str | None:
    if kind is ContributorKind.SELF_EMPLOYED:
        nir = r.required("nir", "le NIR est obligatoire pour retrouver un indépendant")
        return r.check(validate_nir, nir) if nir else None
    siren = r.required("siren", "le SIREN est obligatoire pour retrouver un employeur")
    return r.check(validate_siren, siren) if siren else None


_DRAFT_FIELDS = {"establishments[0].siret": "siret", "establishments[0].territory": ""}


def _affiliation(r: _Reader, record_id, effective_date, kind) -> Affiliation | None:
    organisation = r.required("organisation", "organisme gestionnaire obligatoire")
    territory = r.required("territory", "territoire obligatoire (code du département)") or ""
    establishments: tuple[Establishment, ...] = ()
    if kind is ContributorKind.EMPLOYER:
        siret = r.required("siret", "SIRET de l'établissement obligatoire pour un employeur")
        if siret:
            est_territory = r.text("establishment_territory") or territory
            establishments = (Establishment(siret, est_territory),)
    self_employed = kind is ContributorKind.SELF_EMPLOYED
    # Fields foreign to the kind were refused above; keeping them out of the draft avoids
    # reporting them twice under another field's name.
    draft = ContributorDraft(
        kind=kind,
        name=r.text("name") or "",
        territory=territory,
        organisation_code=organisation or "",
        nir=r.text("nir") if self_employed else None,
        activity=r.choice("activity", Activity, "craft (artisan) ou trade (commerçant)")
        if self_employed
        else None,
        activity_start=r.date("activity_start") if self_employed else None,
        address=r.text("address") or "",
        siren=None if self_employed else r.text("siren"),
        public_sector=False if self_employed else bool(r.boolean("public_sector")),
        establishments=establishments,
    )
    try:
        draft = validate_contributor(draft)
    except DomainError as err:
        for p in err.problems:
            field = _DRAFT_FIELDS.get(p.field, p.field)
            if field == "":  # the establishment's territory came from one of two columns
                own = r.text("establishment_territory")
                field = "establishment_territory" if own else "territory"
            if field not in {q.field for q in r.problems}:
                r.problems.append(Problem(field, p.reason, p.code))
        return None
    return Affiliation(record_id, effective_date, draft)


def _change(r: _Reader, record_id, effective_date, kind) -> Change | None:
    identifier = _identifier(r, kind)
    territory = r.text("territory")
    if territory is not None:
        territory = r.check(validate_territory, territory)
    activity = siret = est_territory = None
    if kind is ContributorKind.SELF_EMPLOYED:
        activity = r.choice("activity", Activity, "craft (artisan) ou trade (commerçant)")
    else:
        siret = r.text("siret")
        est_territory = r.text("establishment_territory")
    if siret is not None:
        siret = r.check(validate_siret, siret, "siret", identifier)
    if est_territory is not None:
        if siret is None and "siret" not in {p.field for p in r.problems}:
            r.fail("establishment_territory", "territoire d'établissement sans SIRET", "unexpected")
        est_territory = r.check(validate_territory, est_territory, "establishment_territory")
    name = r.text("name")
    address = r.text("address")
    if not r.problems and all(v is None for v in (name, address, territory, activity, siret)):
        r.fail("", "aucune modification : aucun champ modifiable n'est renseigné", "no_change")
    return Change(
        record_id,
        effective_date,
        kind,
        identifier,
        r.text("organisation"),
        name,
        address,
        territory,
        activity,
        siret,
        est_territory,
    )


def deregistration_problems(
    effective_date: date, start: date | None, today: date, already_deregistered: bool
) -> list[Problem]:
    """Why a known contributor cannot be deregistered on that date, if they cannot.

    A future date is refused because the contributor's status changes at once: nothing would
    otherwise turn an announced end into a deregistration on its day.
    """
    problems = []
    if already_deregistered:
        problems.append(Problem("", "cotisant déjà radié", "already_deregistered"))
    if start is not None and effective_date < start:
        problems.append(
            Problem(
                "effective_date",
                f"la date de radiation {effective_date.isoformat()} précède le début "
                f"d'activité {start.isoformat()}",
                "bad_dates",
            )
        )
    if effective_date > today:
        problems.append(
            Problem(
                "effective_date",
                f"date de radiation dans le futur : {effective_date.isoformat()}",
                "future_date",
            )
        )
    return problems
