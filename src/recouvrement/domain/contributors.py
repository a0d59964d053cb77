"""Organisations, contributors, establishments and employees as plain values.

Each contributor has exactly one account: the single debt of the ISU agreement is that account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.identifiers import (
    validate_nir,
    validate_siren,
    validate_siret,
    validate_territory,
)


class OrganisationKind(StrEnum):
    COLLECTOR = "collector"
    SELF_EMPLOYED_FUND = "self_employed_fund"
    CENTRAL_AGENCY = "central_agency"
    BENEFICIARY_FUND = "beneficiary_fund"
    EMPLOYMENT_SERVICE = "employment_service"


class ContributorKind(StrEnum):
    SELF_EMPLOYED = "self_employed"
    EMPLOYER = "employer"


class Activity(StrEnum):
    CRAFT = "craft"
    TRADE = "trade"


class ContributorStatus(StrEnum):
    ACTIVE = "active"
    DEREGISTERED = "deregistered"


@dataclass(frozen=True)
class Establishment:
    siret: str
    territory: str
    name: str = ""
    naf_code: str | None = None  # NAF rév. 2 activity code, e.g. "4711D"


@dataclass(frozen=True)
class Employee:
    nir: str
    birth_date: date
    name: str = ""


@dataclass(frozen=True)
class ContributorDraft:
    """A contributor as entered, before it has an id.

    Attributes:
        kind: self-employed or employer.
        name: legal or usual name.
        territory: department of the self-employed person or the employer's head office.
        nir: self-employed only.
        activity, activity_start, activity_end: self-employed only.
        siren, establishments: employers only.
        public_sector: employers only; public-sector companies pay unemployment insurance only if
            they have opted in (Mayotte amendment art. 2.1).
    """

    kind: ContributorKind
    name: str
    territory: str
    organisation_code: str
    nir: str | None = None
    activity: Activity | None = None
    activity_start: date | None = None
    activity_end: date | None = None
    address: str = ""
    siren: str | None = None
    public_sector: bool = False
    establishments: tuple[Establishment, ...] = field(default_factory=tuple)


_NAF = re.compile(r"[0-9]{2}\.?[0-9]{2}[A-Z]")


def _naf(value: str | None, field: str, problems: list[Problem]) -> str | None:
    """The activity code in its compact form ("47.11D" → "4711D"), or None when not given."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip().upper()
    if not _NAF.fullmatch(text):
        problems.append(
            Problem(field, f"code NAF invalide : {value!r} (attendu : 4 chiffres et une lettre)")
        )
        return None
    return text.replace(".", "")


def validate_contributor(draft: ContributorDraft) -> ContributorDraft:
    """Return the draft with identifiers compacted, or raise with every problem found at once."""
    problems: list[Problem] = []

    def attempt(fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as err:
            problems.extend(err.problems)
            return None

    if not (draft.name or "").strip():
        problems.append(Problem("name", "le nom est obligatoire", "required"))
    territory = attempt(validate_territory, draft.territory)
    nir = siren = None
    establishments: list[Establishment] = []
    if draft.kind is ContributorKind.SELF_EMPLOYED:
        if not draft.nir:
            problems.append(
                Problem("nir", "le NIR est obligatoire pour un indépendant", "required")
            )
        else:
            nir = attempt(validate_nir, draft.nir)
        if draft.activity is None:
            problems.append(
                Problem(
                    "activity",
                    "activité obligatoire : craft (artisan) ou trade (commerçant)",
                    "required",
                )
            )
        if draft.activity_start is None:
            problems.append(
                Problem("activity_start", "date de début d'activité obligatoire", "required")
            )
        if draft.siren or draft.establishments:
            problems.append(
                Problem(
                    "siren", "un indépendant n'a pas d'établissement employeur ici", "unexpected"
                )
            )
    else:
        if not draft.siren:
            problems.append(
                Problem("siren", "le SIREN est obligatoire pour un employeur", "required")
            )
        else:
            siren = attempt(validate_siren, draft.siren)
        if draft.nir or draft.activity:
            problems.append(
                Problem("nir", "un employeur n'a ni NIR ni activité d'indépendant", "unexpected")
            )
        seen: set[str] = set()
        for i, est in enumerate(draft.establishments):
            siret = attempt(validate_siret, est.siret, f"establishments[{i}].siret", siren)
            est_territory = attempt(
                validate_territory, est.territory, f"establishments[{i}].territory"
            )
            naf = _naf(est.naf_code, f"establishments[{i}].naf_code", problems)
            if siret and siret in seen:
                problems.append(
                    Problem(f"establishments[{i}].siret", f"SIRET {siret} en double", "duplicate")
                )
            if siret:
                seen.add(siret)
            if siret and est_territory:
                establishments.append(Establishment(siret, est_territory, est.name, naf))
    if draft.activity_start and draft.activity_end and draft.activity_end < draft.activity_start:
        problems.append(Problem("activity_end", "la fin d'activité précède son début", "bad_dates"))
    if problems:
        raise DomainError(*problems)
    return ContributorDraft(
        kind=draft.kind,
        name=draft.name.strip(),
        territory=territory,
        organisation_code=draft.organisation_code,
        nir=nir,
        activity=draft.activity,
        activity_start=draft.activity_start,
        activity_end=draft.activity_end,
        address=draft.address.strip(),
        siren=siren,
        public_sector=draft.public_sector,
        establishments=tuple(establishments),
    )
