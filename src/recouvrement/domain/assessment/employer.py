"""Employers' unemployment-insurance and AGS contributions for one employee and one month.

Three lines per employee-month: the employer's and the employee's unemployment contributions
(fund Unédic) and the AGS contribution (fund AGS), all on the same base (code du travail L3253-18:
the AGS contribution is assessed on the base of the unemployment contributions):

- base = gross pay capped at the ceiling of the territory: 4 × the monthly social-security
  ceiling on the mainland and in the overseas departments; in Mayotte the ceiling applicable there
  (amendment of 18 Dec 2013, art. 2.2), then the euro ceilings of the convention of 24 March 2016;
- a month of presence shorter than a full month gets 1/30 of the ceiling per calendar day
  (CSS R242-2), half-up to the cent;
- pay of an employee whose age limit is reached on or before the first day of the month is
  excluded (Mayotte 65+, amendment art. 2.2; mainland 65+ until 30 June 2014). The month of the
  65th birthday stays liable unless the birthday falls on the 1st: the texts give no prorata and
  the pay of that month was earned while the employee was under the limit;
- a public-sector employer is in scope only from the date of its opt-in (code du travail L5424-2;
  Mayotte: L327-37 of its former code, amendment art. 2.1);
- no AGS where the territory was not yet covered (Mayotte before 1 Jan 2017).

Each line's amount is base × rate rounded half-up to the cent, once per line. Parameters are those
in force on the first day of the month. The scalar function explains; the vectorised one computes
the same cents on int64 arrays with rates scaled by 10**6 (checked exact when the tables are built).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from recouvrement.domain.assessment.lines import AssessedLine
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import Rounding, apply_rate, format_euros_fr
from recouvrement.domain.periods import Period
from recouvrement.rules.parameters import DEFAULT_TERRITORY, ParameterError, ParameterSet

ITEMS = ("unemployment_employer", "unemployment_employee", "ags")
FUNDS = {"unemployment_employer": "unedic", "unemployment_employee": "unedic", "ags": "ags"}
LABELS = {
    "unemployment_employer": "Contribution patronale d'assurance chômage",
    "unemployment_employee": "Contribution salariale d'assurance chômage",
    "ags": "Cotisation AGS (garantie des salaires)",
}
RATE_PARAMETERS = {
    "unemployment_employer": "unemployment.employer_rate",
    "unemployment_employee": "unemployment.employee_rate",
    "ags": "ags.rate",
}
ROUNDING = Rounding.HALF_UP
RATE_SCALE = 10**6
FULL_MONTH_DAYS = 30


@dataclass(frozen=True)
class EmployeeMonth:
    """One employee's pay for one month in one establishment.

    Attributes:
        period: the month.
        territory: department code of the establishment ("75", "971", "976"…).
        gross_pay: gross pay in cents.
        birth_date: the employee's birth date (needed where an age limit applies).
        days: calendar days of presence when the month is incomplete, else None.
        public_sector: the employer is a public-sector company.
        opt_in: date from which a public-sector employer adhered to the scheme, or None.
    """

    period: Period
    territory: str
    gross_pay: int
    birth_date: date | None = None
    days: int | None = None
    public_sector: bool = False
    opt_in: date | None = None


def _key(territory: str, params: ParameterSet) -> str:
    """Territories without their own values share the default timeline."""
    return territory if territory in territories_of(params) else DEFAULT_TERRITORY


def territories_of(params: ParameterSet) -> tuple[str, ...]:
    """Territories that have their own values for any parameter used here, default first."""
    names = [*RATE_PARAMETERS.values(), *_SCOPE_PARAMETERS]
    found = {t for n in names for t in params.get(n).timelines if t != DEFAULT_TERRITORY}
    return (DEFAULT_TERRITORY, *sorted(found))


_SCOPE_PARAMETERS = (
    "social_security_ceiling.monthly",
    "unemployment.ceiling_multiple",
    "unemployment.ceiling_amount",
    "unemployment.age_limit",
    "unemployment.public_sector_by_opt_in",
    "ags.liable",
)
# Every parameter an employee-month reads: their dated values bound the months worth tabulating.
EMPLOYER_PARAMETERS = (*RATE_PARAMETERS.values(), *_SCOPE_PARAMETERS)


def limit_reached(birth: date, limit: int, on: date) -> bool:
    """Age `limit` reached on or before `on` (a 29 February birthday counts from 1 March)."""
    return (birth.year + limit, birth.month, birth.day) <= (on.year, on.month, on.day)


def prorated(ceiling: int, days: int | None) -> int:
    """1/30 of the monthly ceiling per calendar day of presence, never above a full month."""
    if days is None or days >= FULL_MONTH_DAYS:
        return ceiling
    return (2 * ceiling * days + FULL_MONTH_DAYS) // (2 * FULL_MONTH_DAYS)


def _check(case: EmployeeMonth) -> None:
    if case.gross_pay < 0:
        raise DomainError.single("gross_pay", "salaire brut négatif refusé", "negative_amount")
    if case.days is not None and not 1 <= case.days <= 31:
        raise DomainError.single(
            "days", f"nombre de jours de présence invalide : {case.days} (1 à 31)", "bad_days"
        )


def _ceiling(params: ParameterSet, on: date, key: str) -> tuple[int, list[str], str]:
    amount = params.entry("unemployment.ceiling_amount", on, key)
    if amount.value is not None:
        return (
            amount.value,
            [amount.source],
            f"plafond conventionnel {format_euros_fr(amount.value)}",
        )
    multiple = params.entry("unemployment.ceiling_multiple", on, key)
    pss = params.entry("social_security_ceiling.monthly", on, key)
    return (
        multiple.value * pss.value,
        [multiple.source, pss.source],
        f"{multiple.value} × plafond mensuel de sécurité sociale ({format_euros_fr(pss.value)})",
    )


def _exclusion(params: ParameterSet, case: EmployeeMonth, on: date, key: str):
    """Why the month's pay is outside the base (None if it is not), and the sources read."""
    scope = params.entry("unemployment.public_sector_by_opt_in", on, key)
    if case.public_sector and scope.value and (case.opt_in is None or case.opt_in > on):
        why = (
            "employeur du secteur public sans adhésion au régime d'assurance chômage"
            if case.opt_in is None
            else f"employeur du secteur public adhérent seulement à partir du {case.opt_in:%d/%m/%Y}"
        )
        return why + " : hors du champ, aucune contribution due", [scope.source]
    age = params.entry("unemployment.age_limit", on, key)
    if age.value is None:
        return None, []
    if case.birth_date is None:
        raise DomainError.single(
            "birth_date",
            f"date de naissance obligatoire : les rémunérations des salariés de {age.value} ans"
            " ou plus sont exclues de l'assiette pour cette période et ce territoire",
            "birth_date_required",
        )
    if limit_reached(case.birth_date, age.value, on):
        return (
            f"salarié âgé de {age.value} ans ou plus au premier jour du mois :"
            " rémunération exclue de l'assiette",
            [age.source],
        )
    return None, [age.source]


def assess_employee_month(params: ParameterSet, case: EmployeeMonth) -> list[AssessedLine]:
    """The three lines of one employee-month, each with its base, ceiling, rate and sources.

    Raises DomainError for bad input and ParameterError where the law data has a gap.
    """
    _check(case)
    on = case.period.start
    key = _key(case.territory, params)
    exclusion, exclusion_sources = _exclusion(params, case, on, key)
    try:
        ceiling, ceiling_sources, ceiling_text = _ceiling(params, on, key)
    except ParameterError:
        if not exclusion:
            raise
        # Excluded pay has a nil base whatever the ceiling: a gap in the ceiling data cannot
        # change the figure, so it does not stop the assessment.
        ceiling, ceiling_sources, ceiling_text = 0, [], "plafond sans objet, rémunération exclue"
    ceiling = prorated(ceiling, case.days)
    if case.days is not None and case.days < FULL_MONTH_DAYS:
        ceiling_text += f", proratisé à {case.days}/30"
    base = 0 if exclusion else min(case.gross_pay, ceiling)
    ags_liable = params.entry("ags.liable", on, key)
    lines = []
    for item in ITEMS:
        rate_entry = params.entry(RATE_PARAMETERS[item], on, key)
        rate: Decimal = rate_entry.value
        detail = [
            f"Assiette : salaire brut {format_euros_fr(case.gross_pay)} plafonné ({ceiling_text})"
        ]
        sources = [*ceiling_sources, *exclusion_sources]
        line_base = base
        if exclusion:
            detail.append(exclusion)
        if item == "ags":
            sources.append(ags_liable.source)
            if not ags_liable.value:
                detail.append("cotisation AGS non due sur ce territoire à cette date")
                line_base, rate = 0, Decimal(0)
        sources.append(rate_entry.source)
        lines.append(
            AssessedLine(
                item=item,
                fund=FUNDS[item],
                label=LABELS[item],
                base=line_base,
                ceiling=ceiling,
                rate=rate,
                rounding=ROUNDING,
                amount=apply_rate(line_base, rate, ROUNDING),
                sources=tuple(dict.fromkeys(sources)),
                detail=tuple(detail),
            )
        )
    return lines


# --- vectorised path -------------------------------------------------------------------------

ERROR_NONE = 0


@dataclass(frozen=True)
class MonthTables:
    """Parameters per (territory index, month index), ready for fancy indexing.

    Attributes:
        territories: territory keys, index 0 being the default timeline.
        first_month: month index (year × 12 + month − 1) of column 0.
        ceiling, employer, employee, ags: int64 cents / rates × RATE_SCALE (ags is 0 where the
            territory is not liable).
        age_limit: 0 where no limit applies.
        opt_in_rule: public-sector employers need an opt-in.
        error: index into `messages` (0: none) for cells where the law data has a gap.
        month_start: first day of each month column as yyyymmdd.
        age_cutoff: latest birth date (yyyymmdd) whose age limit is reached on the month's first
            day, 0 where no limit applies.
        ceiling_gap: index into `messages` where only the ceiling is unknown: it stops the
            cells whose pay is in the base, not those whose pay is excluded.
    """

    territories: tuple[str, ...]
    first_month: int
    ceiling: np.ndarray
    employer: np.ndarray
    employee: np.ndarray
    ags: np.ndarray
    age_limit: np.ndarray
    opt_in_rule: np.ndarray
    error: np.ndarray
    messages: tuple[str, ...]
    month_start: np.ndarray
    age_cutoff: np.ndarray
    ceiling_gap: np.ndarray


def month_index(year, month):
    return year * 12 + month - 1


def _scaled(rate: Decimal) -> int:
    scaled = rate * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise ParameterError(f"taux {rate} trop précis pour le calcul vectorisé (1e-6)")
    return int(scaled)


def build_tables(params: ParameterSet, first: int, last: int) -> MonthTables:
    """Tables for months first..last (month indexes), read through the scalar lookups."""
    keys = territories_of(params)
    n = last - first + 1
    shape = (len(keys), n)
    tables = {k: np.zeros(shape, dtype=np.int64) for k in ("c", "er", "ee", "ags", "age")}
    opt_in = np.zeros(shape, dtype=bool)
    error = np.zeros(shape, dtype=np.int32)
    ceiling_gap = np.zeros(shape, dtype=np.int32)
    messages = [""]
    for t, key in enumerate(keys):
        for j in range(n):
            on = date((first + j) // 12, (first + j) % 12 + 1, 1)
            try:
                tables["c"][t, j] = _ceiling(params, on, key)[0]
            except ParameterError as err:
                messages.append(str(err))
                ceiling_gap[t, j] = len(messages) - 1
            try:
                tables["er"][t, j] = _scaled(params.value(RATE_PARAMETERS[ITEMS[0]], on, key))
                tables["ee"][t, j] = _scaled(params.value(RATE_PARAMETERS[ITEMS[1]], on, key))
                if params.value("ags.liable", on, key):
                    tables["ags"][t, j] = _scaled(params.value("ags.rate", on, key))
                tables["age"][t, j] = params.value("unemployment.age_limit", on, key) or 0
                opt_in[t, j] = params.value("unemployment.public_sector_by_opt_in", on, key)
            except ParameterError as err:
                messages.append(str(err))
                error[t, j] = len(messages) - 1
    month_start = np.array(
        [((first + j) // 12) * 10000 + ((first + j) % 12 + 1) * 100 + 1 for j in range(n)],
        dtype=np.int64,
    )
    age_cutoff = np.where(tables["age"] > 0, month_start[None, :] - tables["age"] * 10000, 0)
    return MonthTables(
        keys,
        first,
        tables["c"],
        tables["er"],
        tables["ee"],
        tables["ags"],
        tables["age"],
        opt_in,
        error,
        tuple(messages),
        month_start,
        age_cutoff.astype(np.int64),
        ceiling_gap,
    )


def _round_half_up(base: np.ndarray, scaled_rate: np.ndarray) -> np.ndarray:
    return (base * scaled_rate + RATE_SCALE // 2) // RATE_SCALE


def assess_batch(
    tables: MonthTables,
    territory: np.ndarray,
    month: np.ndarray,
    gross: np.ndarray,
    birth: np.ndarray | None = None,
    days: np.ndarray | None = None,
    public_sector: np.ndarray | None = None,
    opt_in: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """The same cents as `assess_employee_month`, for arrays of employee-months.

    Inputs: territory index into `tables.territories` (int), month index (int), gross pay in
    cents (int64), birth date as yyyymmdd (0: unknown), days of presence (0: full month),
    public_sector (bool), opt-in date as yyyymmdd (0: none). Returns the three items, `base`,
    `ceiling` and `error`: 0, an index into `tables.messages`, or a negative code
    (-1 birth date required, -2 bad days, -3 negative gross pay, -4 month outside the tables).
    """
    width = tables.ceiling.shape[1]
    col = month - tables.first_month
    outside = (col < 0) | (col >= width)
    any_outside = bool(outside.any())
    if any_outside:
        col = np.where(outside, 0, col)
    cell = territory * width + col  # one flat index, then cheap 1-D takes

    def take(table: np.ndarray) -> np.ndarray:
        return table.ravel().take(cell)

    ceiling = take(tables.ceiling)
    error = take(tables.error)
    if days is not None:
        partial = (days > 0) & (days < FULL_MONTH_DAYS)
        ceiling = np.where(
            partial, (2 * ceiling * days + FULL_MONTH_DAYS) // (2 * FULL_MONTH_DAYS), ceiling
        )
        error = np.where((days < 0) | (days > 31), -2, error)
    base = np.minimum(gross, ceiling)
    # the age limit is reached on or before the 1st when birth <= cutoff (yyyymmdd; 0: no limit)
    cutoff = take(tables.age_cutoff)
    limited = cutoff > 0
    if public_sector is not None:
        start = tables.month_start.take(col)
        no_opt_in = True if opt_in is None else (opt_in == 0) | (opt_in > start)
        out_of_scope = public_sector & take(tables.opt_in_rule) & no_opt_in
        limited &= ~out_of_scope
    else:
        out_of_scope = None
    if birth is None:
        missing = limited
        excluded = np.zeros(base.shape, dtype=bool)
    else:
        missing = limited & (birth == 0)
        excluded = limited & (birth <= cutoff) & (birth > 0)
    if out_of_scope is not None:
        excluded |= out_of_scope
    gap = take(tables.ceiling_gap)
    error = np.where((error == 0) & (gap > 0) & ~excluded, gap, error)
    if missing.any():
        error = np.where(missing & (error == 0), -1, error)
    if (gross < 0).any():
        error = np.where(gross < 0, -3, error)
    if any_outside:
        error = np.where(outside, -4, error)
    excluded |= error != 0
    base[excluded] = 0
    return {
        "unemployment_employer": _round_half_up(base, take(tables.employer)),
        "unemployment_employee": _round_half_up(base, take(tables.employee)),
        "ags": _round_half_up(base, take(tables.ags)),
        "base": base,
        "ceiling": ceiling,
        "error": error,
    }


def assess_batch_chunked(
    tables: MonthTables,
    territory: np.ndarray,
    month: np.ndarray,
    gross: np.ndarray,
    birth: np.ndarray | None = None,
    *,
    chunk: int = 1 << 16,
    workers: int = 2,
) -> dict[str, np.ndarray]:
    """`assess_batch` over cache-sized slices on several threads (NumPy releases the GIL).

    Same results as one call; slices keep the temporaries in the CPU cache instead of streaming
    a dozen full-size arrays through memory.
    """
    n = len(gross)
    out = {k: np.empty(n, dtype=np.int64) for k in (*ITEMS, "base", "ceiling")}
    out["error"] = np.empty(n, dtype=np.int32)

    def run(lo: int) -> None:
        hi = min(lo + chunk, n)
        part = assess_batch(
            tables,
            territory[lo:hi],
            month[lo:hi],
            gross[lo:hi],
            None if birth is None else birth[lo:hi],
        )
        for key, values in part.items():
            out[key][lo:hi] = values

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, range(0, n, chunk)))
    return out


BATCH_ERRORS = {
    -1: "date de naissance obligatoire : une limite d'âge s'applique à cette période",
    -2: "nombre de jours de présence invalide (1 à 31)",
    -3: "salaire brut négatif refusé",
    -4: "période hors des barèmes connus (aucun paramètre en vigueur à cette date)",
}
