"""A synthetic region like the one the two source texts describe, generated from a seed.

The ISU agreement sets a regional self-employed fund and an URSSAF working as a joint organisation
for craftsmen and traders; the Mayotte amendment has the CSSM collect unemployment insurance from
the island's employers for Unédic, with ACOSS, AGS and Pôle emploi as the other parties. The demo
region holds those organisations, their agents and a few thousand contributors whose identifiers
are valid (NIR key, SIREN and SIRET Luhn keys), so every screen, flow and batch can be tried on it.

Everything comes from one `random.Random(seed)`: the same seed gives the same region, byte for byte.
Nothing here reads the clock; ages and dates are relative to `AS_OF`.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import NamedTuple

from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from recouvrement.domain.contributors import (
    Activity,
    ContributorDraft,
    ContributorKind,
    Employee,
    Establishment,
    OrganisationKind,
)
from recouvrement.domain.demo_region_data import (
    COMOROS,
    FIRST_NAMES,
    LAST_NAMES,
    LEGAL_FORMS,
    MAINLAND_BIRTH_COUNTRIES,
    MAYOTTE_COMMUNES,
    MAYOTTE_FIRST_NAMES,
    MAYOTTE_LAST_NAMES,
    MAYOTTE_PUBLIC_SECTOR,
    MAYOTTE_STREETS,
    MAYOTTE_TRADES,
    OTHER_BIRTH_DEPARTMENTS,
    REGION_DEPARTMENTS,
    REGION_NAME,
    STREETS,
    TRADES,
    Commune,
    naf_of,
)
from recouvrement.domain.errors import DomainError, Problem
from recouvrement.domain.identifiers import MAYOTTE

DEFAULT_SEED = 2013
AS_OF = date(2026, 6, 30)
FIRST_ACTIVITY_START = date(1990, 1, 1)
MAX_SIZE = 200_000
# ISU agreement art. 3: the joint unit has agents "issus en nombre égal de chaque organisme".
JOINT_UNIT_AGENTS_PER_PARTY = 3

URSSAF = "URSSAF-RA"
RSI = "RSI-RA"
CSSM = "CSSM"
ACOSS = "ACOSS"
UNEDIC = "UNEDIC"
AGS = "AGS"
POLE_EMPLOI = "POLE-EMPLOI"


class RegionSize(NamedTuple):
    """How many contributors to generate.

    Attributes:
        self_employed: craftsmen and traders of the joint organisation.
        employers: Mayotte employers of the CSSM.
        mainland_employers: employers of the URSSAF with establishments in the region.
    """

    self_employed: int = 3000
    employers: int = 300
    mainland_employers: int = 30


class DemoOrganisation(NamedTuple):
    code: str
    name: str
    kind: OrganisationKind
    territory: str | None


class DemoAgent(NamedTuple):
    """A login of the demo.

    Attributes:
        contributor_key: for a contributor's portal login, the NIR or SIREN of that contributor
            (ids are only known once stored).
    """

    login: str
    name: str
    organisation_code: str
    roles: tuple[str, ...]
    contributor_key: str | None = None


class DemoContributor(NamedTuple):
    """A contributor with what the draft does not hold: the day its account opened, its staff."""

    draft: ContributorDraft
    opened_on: date
    employees: tuple[Employee, ...] = ()

    @property
    def key(self) -> str:
        return self.draft.nir or self.draft.siren or ""


class Region(NamedTuple):
    seed: int
    size: RegionSize
    organisations: tuple[DemoOrganisation, ...]
    partnerships: tuple[tuple[str, str], ...]
    agents: tuple[DemoAgent, ...]
    contributors: tuple[DemoContributor, ...]


ORGANISATIONS = (
    DemoOrganisation(URSSAF, f"URSSAF {REGION_NAME}", OrganisationKind.COLLECTOR, "69"),
    DemoOrganisation(
        RSI, f"Caisse régionale RSI {REGION_NAME}", OrganisationKind.SELF_EMPLOYED_FUND, "69"
    ),
    DemoOrganisation(
        CSSM, "Caisse de sécurité sociale de Mayotte", OrganisationKind.COLLECTOR, MAYOTTE
    ),
    DemoOrganisation(
        ACOSS,
        "Agence centrale des organismes de sécurité sociale",
        OrganisationKind.CENTRAL_AGENCY,
        None,
    ),
    DemoOrganisation(UNEDIC, "Unédic", OrganisationKind.BENEFICIARY_FUND, None),
    DemoOrganisation(
        AGS,
        "Association pour la gestion du régime de garantie des créances des salariés (AGS)",
        OrganisationKind.BENEFICIARY_FUND,
        None,
    ),
    DemoOrganisation(POLE_EMPLOI, "Pôle emploi", OrganisationKind.EMPLOYMENT_SERVICE, None),
)


def check_size(size: RegionSize) -> None:
    problems = [
        Problem(field, f"{field} doit être un entier entre 0 et {MAX_SIZE}", "bad_size")
        for field, value in size._asdict().items()
        if not (isinstance(value, int) and 0 <= value <= MAX_SIZE)
    ]
    if problems:
        raise DomainError(*problems)


def generate_region(seed: int = DEFAULT_SEED, size: RegionSize | None = None) -> Region:
    """The whole region for a seed: organisations, agents, contributors, staff."""
    size = size or RegionSize()
    check_size(size)
    gen = _Generator(random.Random(seed))
    self_employed = tuple(gen.self_employed() for _ in range(size.self_employed))
    public = set(gen.rng.sample(range(size.employers), _public_sector_count(size.employers)))
    mayotte = tuple(
        gen.mayotte_employer(public=i in public, with_senior=i % 8 == 0)
        for i in range(size.employers)
    )
    mainland = tuple(
        gen.mainland_employer(with_senior=i % 8 == 0) for i in range(size.mainland_employers)
    )
    contributors = self_employed + mayotte + mainland
    return Region(
        seed=seed,
        size=size,
        organisations=ORGANISATIONS,
        partnerships=((URSSAF, RSI),),
        agents=gen.agents(self_employed, mayotte),
        contributors=contributors,
    )


def _public_sector_count(employers: int) -> int:
    """A few public-sector companies: one in fifty, at least one once there are five employers."""
    if employers < 5:
        return 0
    return max(1, employers // 50)


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def make_nir(sex: str, birth: date, department: str, commune: str, order: int) -> str:
    """A NIR with its key: sex, year, month, birth place (department + commune), order, key.

    Overseas births use a three-digit department and a two-digit commune; births abroad use 99
    and the INSEE country code.
    """
    body = f"{sex}{birth.year % 100:02d}{birth.month:02d}{department}{commune}{order:03d}"
    if len(body) != 13:
        raise ValueError(f"NIR body of wrong length: {body!r}")
    return body + stdnum_nir.calc_check_digits(body)


def make_siren(prefix8: str) -> str:
    return prefix8 + luhn.calc_check_digit(prefix8)


def make_siret(siren: str, index: int) -> str:
    """The establishment number: 4-digit order plus the digit that makes the 14 digits Luhn-valid."""
    body = f"{siren}{index:04d}"
    return body + luhn.calc_check_digit(body)


class _Generator:
    """Draws every value from one Random, in a fixed order, so a seed fixes the region."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._nirs: set[str] = set()
        self._sirens: set[str] = set()
        departments = list(REGION_DEPARTMENTS)
        self._departments = departments
        self._weights = [REGION_DEPARTMENTS[d][1] for d in departments]

    # -- people -------------------------------------------------------------------------------

    def _date_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def _region_place(self) -> tuple[str, Commune]:
        department = self.rng.choices(self._departments, self._weights)[0]
        return department, self.rng.choice(REGION_DEPARTMENTS[department][2])

    def _birth_place(self, mayotte: bool) -> tuple[str, str]:
        """(department part, commune part) of a NIR."""
        draw = self.rng.random()
        if mayotte:
            if draw < 0.70:
                return MAYOTTE, self.rng.choice(MAYOTTE_COMMUNES).insee
            if draw < 0.90:
                return "99", COMOROS
            return self.rng.choice(OTHER_BIRTH_DEPARTMENTS), f"{self.rng.randint(1, 400):03d}"
        if draw < 0.75:
            department, commune = self._region_place()
            return department, commune.insee
        if draw < 0.90:
            return self.rng.choice(OTHER_BIRTH_DEPARTMENTS), f"{self.rng.randint(1, 400):03d}"
        return "99", self.rng.choice(MAINLAND_BIRTH_COUNTRIES)

    def _nir(self, sex: str, birth: date, mayotte: bool) -> str:
        department, commune = self._birth_place(mayotte)
        while True:
            nir = make_nir(sex, birth, department, commune, self.rng.randint(1, 999))
            if nir not in self._nirs:
                self._nirs.add(nir)
                return nir

    def _person_name(self, sex: str, mayotte: bool) -> str:
        firsts, lasts = (
            (MAYOTTE_FIRST_NAMES, MAYOTTE_LAST_NAMES) if mayotte else (FIRST_NAMES, LAST_NAMES)
        )
        return f"{self.rng.choice(firsts[sex])} {self.rng.choice(lasts)}"

    def _address(self, commune: Commune, mayotte: bool = False) -> str:
        street = self.rng.choice(MAYOTTE_STREETS if mayotte else STREETS)
        return f"{self.rng.randint(1, 120)} {street}, {commune.postcode} {commune.name}"

    def self_employed(self) -> DemoContributor:
        sex = self.rng.choice("12")
        birth = self._date_between(date(1940, 1, 1), date(2004, 12, 31))
        earliest = max(FIRST_ACTIVITY_START, date(birth.year + 18, birth.month, min(birth.day, 28)))
        start = self._date_between(earliest, AS_OF)
        end = None
        if self.rng.random() < 0.18 and (AS_OF - start).days > 60:
            end = self._date_between(start + timedelta(days=30), AS_OF)
        department, commune = self._region_place()
        draft = ContributorDraft(
            kind=ContributorKind.SELF_EMPLOYED,
            name=self._person_name(sex, mayotte=False),
            territory=department,
            organisation_code=URSSAF,
            nir=self._nir(sex, birth, mayotte=False),
            activity=Activity.CRAFT if self.rng.random() < 0.45 else Activity.TRADE,
            activity_start=start,
            activity_end=end,
            address=self._address(commune),
        )
        return DemoContributor(draft, start)

    def _employee(self, mayotte: bool, senior: bool) -> Employee:
        sex = self.rng.choice("12")
        if (
            senior
        ):  # 65 or over on AS_OF: their pay is outside the Mayotte base (amendment art. 2.2)
            birth = self._date_between(date(1941, 1, 1), date(AS_OF.year - 65, AS_OF.month, 1))
        else:
            birth = self._date_between(date(1962, 1, 1), date(2006, 12, 31))
        return Employee(self._nir(sex, birth, mayotte), birth, self._person_name(sex, mayotte))

    def _staff(self, mayotte: bool, with_senior: bool) -> tuple[Employee, ...]:
        tier = self.rng.random()
        count = (
            self.rng.randint(1, 5)
            if tier < 0.6
            else self.rng.randint(6, 15)
            if tier < 0.85
            else self.rng.randint(16, 40)
        )
        return tuple(
            self._employee(mayotte, senior=(with_senior and i == 0) or self.rng.random() < 0.04)
            for i in range(count)
        )

    # -- companies ----------------------------------------------------------------------------

    def _siren(self) -> str:
        while True:
            siren = make_siren(f"{self.rng.randint(10_000_000, 99_999_999)}")
            if siren not in self._sirens and not siren.startswith("356000000"):
                self._sirens.add(siren)
                return siren

    def _company_name(self, trades: tuple[str, ...], place: str, mayotte: bool) -> str:
        lasts = MAYOTTE_LAST_NAMES if mayotte else LAST_NAMES
        trade = self.rng.choice(trades)
        owner = self.rng.choice(lasts) if self.rng.random() < 0.5 else place
        return f"{trade} {owner} {self.rng.choice(LEGAL_FORMS)}"

    def mayotte_employer(self, public: bool, with_senior: bool) -> DemoContributor:
        siren = self._siren()
        head = self.rng.choice(MAYOTTE_COMMUNES)
        name = (
            self.rng.choice(MAYOTTE_PUBLIC_SECTOR)
            if public
            else self._company_name(MAYOTTE_TRADES, head.name, mayotte=True)
        )
        count = self.rng.choices((1, 2, 3), (70, 22, 8))[0]
        naf = naf_of(name)
        establishments = [Establishment(make_siret(siren, 1), MAYOTTE, f"Siège — {head.name}", naf)]
        for i, commune in enumerate(self.rng.sample(MAYOTTE_COMMUNES, count - 1), start=2):
            establishments.append(
                Establishment(
                    make_siret(siren, i), MAYOTTE, f"Établissement de {commune.name}", naf
                )
            )
        draft = ContributorDraft(
            kind=ContributorKind.EMPLOYER,
            name=name,
            territory=MAYOTTE,
            organisation_code=CSSM,
            address=self._address(head, mayotte=True),
            siren=siren,
            public_sector=public,
            establishments=tuple(establishments),
        )
        opened = self._date_between(date(1985, 1, 1), date(2024, 12, 31))
        return DemoContributor(draft, opened, self._staff(mayotte=True, with_senior=with_senior))

    def mainland_employer(self, with_senior: bool) -> DemoContributor:
        siren = self._siren()
        department, head = self._region_place()
        count = self.rng.choices((1, 2, 3), (60, 28, 12))[0]
        places = [self._region_place() for _ in range(2, count + 1)]
        name = self._company_name(TRADES, head.name, mayotte=False)
        naf = naf_of(name)
        establishments = [
            Establishment(make_siret(siren, 1), department, f"Siège — {head.name}", naf)
        ]
        for i, (other_department, commune) in enumerate(places, start=2):
            establishments.append(
                Establishment(
                    make_siret(siren, i), other_department, f"Établissement de {commune.name}", naf
                )
            )
        draft = ContributorDraft(
            kind=ContributorKind.EMPLOYER,
            name=name,
            territory=department,
            organisation_code=URSSAF,
            address=self._address(head),
            siren=siren,
            establishments=tuple(establishments),
        )
        opened = self._date_between(date(1980, 1, 1), date(2024, 12, 31))
        return DemoContributor(draft, opened, self._staff(mayotte=False, with_senior=with_senior))

    # -- agents -------------------------------------------------------------------------------

    def agents(
        self, self_employed: tuple[DemoContributor, ...], mayotte: tuple[DemoContributor, ...]
    ) -> tuple[DemoAgent, ...]:
        """The staff of each organisation, and a few contributors' portal logins.

        The ISU agreement gives each director an "agent de direction" and a "cadre" for the joint
        organisation (art. 3, here both managers), joint-unit agents in equal number from each
        party, and names the accounting officers (art. 2); appeals boards decide remissions above
        the director's threshold.
        """
        plan: list[tuple[str, str, str]] = []
        for code, prefix in ((URSSAF, "urssaf-ra"), (RSI, "rsi-ra")):
            plan += [
                (code, f"{prefix}.directeur", "director"),
                (code, f"{prefix}.agent-de-direction", "manager"),
                (code, f"{prefix}.cadre-isu", "manager"),
            ]
            plan += [
                (code, f"{prefix}.cellule-mixte-{i}", "joint_unit_agent")
                for i in range(1, JOINT_UNIT_AGENTS_PER_PARTY + 1)
            ]
            plan += [
                (code, f"{prefix}.agent-comptable", "accounting_officer"),
                (code, f"{prefix}.cra", "appeals_board_member"),
            ]
        plan += [
            (URSSAF, "urssaf-ra.agent-1", "agent"),
            (URSSAF, "urssaf-ra.agent-2", "agent"),
            (URSSAF, "urssaf-ra.inspecteur", "auditor"),
            (CSSM, "cssm.directeur", "director"),
            (CSSM, "cssm.cadre", "manager"),
            (CSSM, "cssm.agent-1", "agent"),
            (CSSM, "cssm.agent-2", "agent"),
            (CSSM, "cssm.agent-3", "agent"),
            (CSSM, "cssm.agent-comptable", "accounting_officer"),
            (CSSM, "cssm.inspecteur", "auditor"),
            (CSSM, "cssm.cra", "appeals_board_member"),
            (ACOSS, "acoss.directeur", "director"),
            (ACOSS, "acoss.agent-comptable", "accounting_officer"),
            (UNEDIC, "unedic.directeur", "director"),
            (AGS, "ags.directeur", "director"),
            (POLE_EMPLOI, "pole-emploi.directeur", "director"),
        ]
        out = [
            DemoAgent(login, self._person_name(self.rng.choice("12"), code == CSSM), code, (role,))
            for code, login, role in plan
        ]
        active = [c for c in self_employed if c.draft.activity_end is None]
        for i, c in enumerate(self.rng.sample(active, min(3, len(active))), start=1):
            out.append(DemoAgent(f"cotisant.ti-{i}", c.draft.name, URSSAF, ("contributor",), c.key))
        for i, c in enumerate(self.rng.sample(mayotte, min(2, len(mayotte))), start=1):
            out.append(
                DemoAgent(f"cotisant.employeur-{i}", c.draft.name, CSSM, ("contributor",), c.key)
            )
        return tuple(out)
