"""Batch assessment of mixed cases: one result per case, in order; a bad case never stops the rest.

Employer cases are validated one by one (each error names its field), then assessed together on
the vectorised path; self-employed cases go to the self-employed scale when it is installed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date

import numpy as np

from recouvrement.domain.assessment.employer import (
    BATCH_ERRORS,
    EMPLOYER_PARAMETERS,
    ITEMS,
    EmployeeMonth,
    assess_batch,
    assess_employee_month,
    build_tables,
    month_index,
)
from recouvrement.domain.errors import DomainError
from recouvrement.domain.identifiers import validate_territory
from recouvrement.domain.money import format_euros, parse_euros
from recouvrement.domain.periods import Granularity, Period
from recouvrement.rules.parameters import ParameterError, ParameterSet

EMPLOYER = "employer_unemployment"
SELF_EMPLOYED = "self_employed"
SELF_EMPLOYED_ITEMS = (
    "health",
    "daily_allowances",
    "basic_pension",
    "complementary_pension",
    "invalidity_death",
    "family_allowances",
    "csg_crds",
    "csg_deductible",
    "csg_non_deductible",
    "crds",
    "vocational_training",
    "total",
)
SELF_EMPLOYED_MISSING = "barème des indépendants indisponible"


def _error(case_id, problem: str) -> dict:
    return {"id": case_id, "error": problem}


def _text(err: Exception) -> str:
    return str(err)


def _date(raw, field: str) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise DomainError.single(field, f"date invalide {raw!r} (attendu AAAA-MM-JJ)") from None


def _bool(raw, field: str) -> bool:
    if raw is None or raw == "":
        return False
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "oui", "yes"):
        return True
    if text in ("false", "0", "non", "no"):
        return False
    raise DomainError.single(field, f"booléen attendu, lu {raw!r}", "bad_boolean")


def _int(raw, field: str) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, (bool, float)):
        raise DomainError.single(field, f"entier attendu, lu {raw!r}", "bad_integer")
    try:
        return int(str(raw).strip())
    except ValueError:
        raise DomainError.single(field, f"entier attendu, lu {raw!r}", "bad_integer") from None


def employee_month(record: dict) -> EmployeeMonth:
    """An employer case from raw fields (JSON, CSV or API), each error naming its field."""
    period = Period.parse(str(record.get("period") or ""), "period")
    if period.granularity is not Granularity.MONTH:
        raise DomainError.single("period", "période mensuelle attendue (AAAA-MM)", "bad_period")
    if record.get("gross_pay") is None:
        raise DomainError.single("gross_pay", "salaire brut obligatoire", "required")
    return EmployeeMonth(
        period=period,
        territory=validate_territory(str(record.get("territory") or "")),
        gross_pay=parse_euros(record.get("gross_pay"), "gross_pay"),
        birth_date=_date(record.get("birth_date"), "birth_date"),
        days=_int(record.get("days"), "days"),
        public_sector=_bool(record.get("public_sector"), "public_sector"),
        opt_in=_date(record.get("opt_in"), "opt_in"),
    )


@dataclass
class _Employer:
    position: int
    case_id: object
    case: EmployeeMonth


def _ymd(d: date | None) -> int:
    return 0 if d is None else d.year * 10000 + d.month * 100 + d.day


LOOKAHEAD_MONTHS = 120


def _known_span(params: ParameterSet) -> tuple[int, int]:
    """Months worth tabulating: from the first dated value of the employer's parameters to ten
    years after the last one (other rules, e.g. older surcharge scales, do not widen it).

    Outside it every lookup would fail alike; bounding the tables keeps a stray "9999-01" from
    tabulating eight thousand years.
    """
    starts = [
        v.start
        for name in EMPLOYER_PARAMETERS
        if name in params.names()
        for values in params.get(name).timelines.values()
        for v in values
    ]
    first, last = min(starts), max(starts)
    return month_index(first.year, first.month), month_index(
        last.year, last.month
    ) + LOOKAHEAD_MONTHS


def assess_employer_cases(params: ParameterSet, cases: list[_Employer]) -> list[dict]:
    if not cases:
        return []
    months = np.array(
        [month_index(c.case.period.start.year, c.case.period.start.month) for c in cases]
    )
    first, last = _known_span(params)
    lo, hi = max(int(months.min()), first), min(int(months.max()), last)
    tables = build_tables(params, lo, hi) if lo <= hi else build_tables(params, first, first)
    keys = tables.territories
    out = assess_batch(
        tables,
        np.array([keys.index(c.case.territory) if c.case.territory in keys else 0 for c in cases]),
        months,
        np.array([c.case.gross_pay for c in cases], dtype=np.int64),
        np.array([_ymd(c.case.birth_date) for c in cases], dtype=np.int64),
        np.array([c.case.days or 0 for c in cases], dtype=np.int64),
        np.array([c.case.public_sector for c in cases], dtype=bool),
        np.array([_ymd(c.case.opt_in) for c in cases], dtype=np.int64),
    )
    results = []
    for i, c in enumerate(cases):
        code = int(out["error"][i])
        if code:
            message = tables.messages[code] if code > 0 else BATCH_ERRORS[code]
            results.append(_error(c.case_id, message))
            continue
        result = {
            "id": c.case_id,
            "items": {item: format_euros(int(out[item][i])) for item in ITEMS},
            "base": format_euros(int(out["base"][i])),
            "ceiling": format_euros(int(out["ceiling"][i])),
        }
        if out["base"][i] == 0 and c.case.gross_pay > 0:
            detail = assess_employee_month(params, c.case)[0].detail
            result["exclusion"] = detail[-1]
        results.append(result)
    return results


def _self_employed_module():
    try:
        return importlib.import_module("recouvrement.domain.assessment.self_employed")
    except ModuleNotFoundError as err:
        if err.name != "recouvrement.domain.assessment.self_employed":
            raise
        return None


def _self_employed_case(record: dict) -> tuple[int, str, int]:
    year = _int(record.get("year"), "year")
    if year is None:
        raise DomainError.single("year", "année obligatoire", "required")
    activity = str(record.get("activity") or "").strip()
    if activity not in ("craft", "trade"):
        raise DomainError.single(
            "activity", f"activité {activity!r} inconnue (craft ou trade)", "bad_activity"
        )
    if record.get("income") is None:
        raise DomainError.single("income", "revenu professionnel obligatoire", "required")
    return year, activity, parse_euros(record.get("income"), "income", allow_negative=True)


def _summarise(module, lines) -> dict[str, int]:
    if hasattr(module, "summarise"):
        return dict(module.summarise(lines))
    amounts = {line.item: line.amount for line in lines}
    amounts["csg_crds"] = sum(
        amounts.get(k, 0) for k in ("csg_deductible", "csg_non_deductible", "crds")
    )
    amounts["total"] = sum(v for k, v in amounts.items() if k != "csg_crds")
    return amounts


def assess_self_employed_cases(params: ParameterSet, cases: list[tuple]) -> list[dict]:
    """Self-employed cases through the other half's scale, one line at a time for clear errors."""
    module = _self_employed_module()
    results = []
    for case_id, (year, activity, income) in cases:
        if module is None:
            results.append(_error(case_id, SELF_EMPLOYED_MISSING))
            continue
        try:
            amounts = _summarise(module, module.assess_year(params, year, activity, income))
        except (DomainError, ParameterError) as err:
            results.append(_error(case_id, _text(err)))
            continue
        items = {k: format_euros(int(amounts[k])) for k in SELF_EMPLOYED_ITEMS if k in amounts}
        results.append({"id": case_id, "items": items})
    return results


def assess_records(params: ParameterSet, records: list[dict | Exception]) -> list[dict]:
    """One result per record, in order. A record may be an exception from the reader (bad line)."""
    results: list[dict | None] = [None] * len(records)
    employer: list[_Employer] = []
    self_employed: list[tuple[int, object, tuple]] = []
    for position, record in enumerate(records):
        if isinstance(record, Exception):
            results[position] = _error(None, _text(record))
            continue
        case_id = record.get("id")
        if case_id is None or case_id == "":
            results[position] = _error(None, "id : identifiant du cas obligatoire")
            continue
        scheme = record.get("scheme")
        try:
            if scheme == EMPLOYER:
                employer.append(_Employer(position, case_id, employee_month(record)))
            elif scheme == SELF_EMPLOYED:
                self_employed.append((position, case_id, _self_employed_case(record)))
            else:
                raise DomainError.single(
                    "scheme",
                    f"régime {scheme!r} inconnu ({EMPLOYER} ou {SELF_EMPLOYED})",
                    "bad_scheme",
                )
        except DomainError as err:
            results[position] = _error(case_id, _text(err))
    for c, result in zip(employer, assess_employer_cases(params, employer), strict=True):
        results[c.position] = result
    done = assess_self_employed_cases(params, [(cid, case) for _, cid, case in self_employed])
    for (position, _, _), result in zip(self_employed, done, strict=True):
        results[position] = result
    return [r for r in results if r is not None]


ROUNDING_FR = {
    "half_up": "au centime le plus proche, demi-centime arrondi au supérieur",
    "half_even": "au centime le plus proche, demi-centime arrondi au pair",
    "down": "au centime inférieur",
}


def _percent(rate) -> str:
    """A rate as French readers write it: "4,05 %", "0,95 %", "0 %"."""
    text = format(rate * 100, "f")
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    if frac or whole != "0":
        frac = frac.ljust(2, "0")
    return (f"{whole},{frac}" if frac else whole) + " %"


def _line_explanation(line) -> dict:
    return {
        "item": line.item,
        "label": line.label,
        "fund": line.fund,
        "base": format_euros(line.base),
        "ceiling": None if line.ceiling is None else format_euros(line.ceiling),
        "rate": _percent(line.rate),
        "rounding": ROUNDING_FR.get(str(line.rounding), str(line.rounding)),
        "amount": format_euros(line.amount),
        "sources": list(line.sources),
        "detail": list(line.detail),
    }


def explain_record(params: ParameterSet, record: dict) -> dict:
    """Every line of one case with its base, ceiling, rate, rounding and sources, in French.

    Raises DomainError or ParameterError, which the adapters show as they are.
    """
    scheme = record.get("scheme") or EMPLOYER
    if scheme == EMPLOYER:
        lines = assess_employee_month(params, employee_month(record))
    elif scheme == SELF_EMPLOYED:
        module = _self_employed_module()
        if module is None:
            raise DomainError.single("scheme", SELF_EMPLOYED_MISSING, "unavailable")
        lines = module.assess_year(params, *_self_employed_case(record))
    else:
        raise DomainError.single("scheme", f"régime {scheme!r} inconnu", "bad_scheme")
    return {
        "scheme": scheme,
        "lines": [_line_explanation(line) for line in lines],
        "total": format_euros(sum(line.amount for line in lines)),
    }
