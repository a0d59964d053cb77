"""Definitive yearly contributions of self-employed craftsmen and traders.

The year's rules are first compiled from the dated parameters (rules/parameters/self_employed.yaml)
into integers: amounts in cents, rates in millionths (`RATE_SCALE`), progressive rates as exact
linear segments. `assess_year` (one contributor-year, explainable lines) and `assess_batch`
(NumPy, millions of contributor-years) then run the very same integer formulas, which is what
makes them agree to the cent.

Rounding, per line: each line is rounded once, half-up to the cent, from its exact value
(the sum of its brackets). A progressive health rate is first rounded half-up to 0.01 % where the
rules say so (`self_employed.health.rate_decimals`). The family-allowance rate between its two
thresholds is not rounded. URSSAF rounds each line to the euro; we keep cents.

Income below zero (a deficit) is allowed: minimum bases still apply, bracketed items are computed
on zero, and the CSG-CRDS base is income plus contributions, floored at zero (CSS L136-3).
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import lcm

import numpy as np

from recouvrement.domain.assessment.lines import AssessedLine
from recouvrement.domain.errors import DomainError
from recouvrement.domain.money import Rounding, format_euros_fr
from recouvrement.rules.parameters import ParameterError, ParameterSet

ACTIVITIES = ("craft", "trade")
ITEMS = (
    "health",
    "daily_allowances",
    "basic_pension",
    "complementary_pension",
    "invalidity_death",
    "family_allowances",
    "csg_deductible",
    "csg_non_deductible",
    "crds",
    "vocational_training",
)
SUMMARY_KEYS = (*ITEMS, "csg_crds", "total")
SOCIAL_ITEMS = ITEMS[:6]  # the contributions added back into the CSG-CRDS base
FUNDS = {
    "health": "self_employed_scheme",
    "daily_allowances": "self_employed_scheme",
    "basic_pension": "self_employed_scheme",
    "complementary_pension": "self_employed_scheme",
    "invalidity_death": "self_employed_scheme",
    "family_allowances": "family_branch",
    "csg_deductible": "csg_crds",
    "csg_non_deductible": "csg_crds",
    "crds": "csg_crds",
    "vocational_training": "vocational_training_fund",
}
LABELS = {
    "health": "Maladie-maternité",
    "daily_allowances": "Indemnités journalières",
    "basic_pension": "Retraite de base",
    "complementary_pension": "Retraite complémentaire",
    "invalidity_death": "Invalidité-décès",
    "family_allowances": "Allocations familiales",
    "csg_deductible": "CSG déductible",
    "csg_non_deductible": "CSG non déductible",
    "crds": "CRDS",
    "vocational_training": "Contribution à la formation professionnelle",
}
RATE_SCALE = 1_000_000
# Bound on |income| so that every integer product stays inside int64 in the batch.
MAX_INCOME_CENTS = 100_000_000_000  # 1 000 000 000 €
PREFIX = "self_employed."
# Batch work is cut into slices that fit the CPU caches, run on threads (NumPy releases the GIL).
_SLICE = 65_536
_WORKERS = 2


@dataclass(frozen=True)
class Segment:
    """On [start, next start) the rate in millionths is (numerator + slope × (x - start)) / denominator."""

    start: int
    numerator: int
    slope: int
    denominator: int


@dataclass(frozen=True)
class ProgressiveRate:
    """A piecewise-linear rate of the income; `rounding_step` in millionths (0: not rounded)."""

    segments: tuple[Segment, ...]
    rounding_step: int


@dataclass(frozen=True)
class YearRules:
    """One year's rules for one activity, in integers (cents, millionths)."""

    year: int
    activity: str
    pass_cents: int
    health_rate: ProgressiveRate
    health_ceiling: int | None
    health_rate_above: int
    health_minimum_base: int | None
    health_includes_daily_allowances: bool
    daily_allowances_rate: int
    daily_allowances_ceiling: int
    daily_allowances_minimum_base: int
    basic_capped_rate: int
    basic_uncapped_rate: int
    basic_minimum_base: int
    complementary_lower_rate: int
    complementary_upper_rate: int
    complementary_ceiling: int
    complementary_upper_ceiling: int
    complementary_minimum_base: int | None
    invalidity_death_rate: int
    invalidity_death_minimum_base: int
    family_rate: ProgressiveRate
    csg_deductible_rate: int
    csg_non_deductible_rate: int
    crds_rate: int
    vocational_training_rate: int
    sources: dict[str, tuple[str, ...]]


# --- compiling the parameters ---------------------------------------------------------------------


class _Reader:
    """Looks parameters up on 1 January and remembers their sources, per item."""

    def __init__(self, params: ParameterSet, year: int):
        self.params = params
        self.on = date(year, 1, 1)
        self.sources: dict[str, list[str]] = {}

    def get(self, item: str, name: str, *, optional: bool = False):
        full = name if name.startswith("social_security") else PREFIX + name
        try:
            entry = self.params.entry(full, self.on)
        except ParameterError:
            raise ParameterError(
                f"{full} : donnée non trouvée pour l'année {self.on.year} (lacune connue des "
                "règles, voir docs/self-employed.md) ; calcul impossible"
            ) from None
        self.sources.setdefault(item, []).append(f"{full} : {entry.source}")
        if entry.value is None and not optional:
            raise ParameterError(f"{full} : sans valeur pour l'année {self.on.year}")
        return entry.value


def _scaled_rate(value: Decimal, name: str) -> int:
    scaled = value * RATE_SCALE
    if scaled != scaled.to_integral_value():
        raise ParameterError(f"{name} : taux plus fin que le millionième ({value})")
    return int(scaled)


def _pass_fraction(fraction: Decimal, pass_cents: int) -> int:
    cents = fraction * pass_cents
    if cents != cents.to_integral_value():
        raise ParameterError(f"fraction du PASS sans valeur entière en centimes : {fraction}")
    return int(cents)


def _knots(text: str, pass_cents: int, name: str) -> list[tuple[int, Fraction]]:
    """ "0:0.0135, 110:0.0635" -> [(income in cents, rate in millionths)]."""
    knots = []
    for part in text.split(","):
        try:
            pct, rate = part.split(":")
            at = Decimal(pct.strip()) * pass_cents / 100
            value = Decimal(rate.strip()) * RATE_SCALE
        except (ValueError, ArithmeticError):
            raise ParameterError(f"{name} : barème illisible {text!r}") from None
        if at != at.to_integral_value():
            raise ParameterError(f"{name} : noeud sans valeur entière en centimes {part!r}")
        knots.append((int(at), Fraction(value)))
    if [k for k, _ in knots] != sorted({k for k, _ in knots}) or knots[0][0] != 0:
        raise ParameterError(f"{name} : noeuds à écrire en ordre croissant depuis 0 {text!r}")
    return knots


def _value_at(knots: list[tuple[int, Fraction]], x: int) -> Fraction:
    if x >= knots[-1][0]:
        return knots[-1][1]
    for (x0, r0), (x1, r1) in itertools.pairwise(knots):
        if x0 <= x < x1:
            return r0 + (r1 - r0) * Fraction(x - x0, x1 - x0)
    raise AssertionError("knots start at 0")


def _segments(*scales: tuple[list[tuple[int, Fraction]], int]) -> tuple[Segment, ...]:
    """Sum of signed piecewise-linear scales, as exact integer segments."""
    starts = sorted({k for knots, _ in scales for k, _ in knots})
    segments = []
    for i, start in enumerate(starts):
        value = sum(sign * _value_at(knots, start) for knots, sign in scales)
        if i + 1 < len(starts):
            end = starts[i + 1]
            slope = (sum(sign * _value_at(knots, end) for knots, sign in scales) - value) / (
                end - start
            )
        else:
            slope = Fraction(0)
        denominator = lcm(value.denominator, slope.denominator)
        segments.append(
            Segment(start, int(value * denominator), int(slope * denominator), denominator)
        )
    return tuple(segments)


def _health_rate(read: _Reader, pass_cents: int) -> ProgressiveRate:
    scale = _knots(read.get("health", "health.scale"), pass_cents, "health.scale")
    reduction = read.get("health", "health.scale_reduction", optional=True)
    parts = [(scale, 1)]
    if reduction is not None:
        parts.append((_knots(reduction, pass_cents, "health.scale_reduction"), -1))
    decimals = read.get("health", "health.rate_decimals", optional=True)
    step = 0 if decimals is None else RATE_SCALE // 10**decimals
    return ProgressiveRate(_segments(*parts), step)


def _family_rate(read: _Reader, pass_cents: int) -> ProgressiveRate:
    full = Fraction(_scaled_rate(read.get("family_allowances", "family_allowances.rate"), "af"))
    reduced = read.get("family_allowances", "family_allowances.reduced_rate", optional=True)
    if reduced is None:
        return ProgressiveRate((Segment(0, int(full), 0, 1),), 0)
    low = _pass_fraction(
        read.get("family_allowances", "family_allowances.lower_threshold_pass"), pass_cents
    )
    high = _pass_fraction(
        read.get("family_allowances", "family_allowances.upper_threshold_pass"), pass_cents
    )
    reduced_scaled = Fraction(_scaled_rate(reduced, "af"))
    knots = [(0, reduced_scaled), (low, reduced_scaled), (high, full)]
    return ProgressiveRate(_segments((knots, 1)), 0)


@lru_cache(maxsize=256)
def _compile_cached(params: ParameterSet, year: int, activity: str) -> YearRules:
    read = _Reader(params, year)
    monthly = read.get("pass", "social_security_ceiling.monthly")
    pass_cents = 12 * monthly
    for item in ITEMS:
        read.sources.setdefault(item, []).append(
            f"social_security_ceiling.monthly : PASS {year} = 12 × {monthly // 100} €"
        )

    def rate(item: str, name: str) -> int:
        return _scaled_rate(read.get(item, name), PREFIX + name)

    def pass_share(item: str, name: str, *, optional: bool = False) -> int | None:
        value = read.get(item, name, optional=optional)
        return None if value is None else _pass_fraction(value, pass_cents)

    health_ceiling = read.get("health", "health.scale_ceiling_pass", optional=True)
    above = read.get("health", "health.rate_above_ceiling", optional=True)
    basic_min_pass = read.get("basic_pension", "basic_pension.minimum_base_pass", optional=True)
    basic_min = read.get("basic_pension", "basic_pension.minimum_base", optional=True)
    if (basic_min_pass is None) == (basic_min is None):
        raise ParameterError(
            f"self_employed.basic_pension : une et une seule assiette minimale attendue en {year}"
        )
    rules = YearRules(
        year=year,
        activity=activity,
        pass_cents=pass_cents,
        health_rate=_health_rate(read, pass_cents),
        health_ceiling=None
        if health_ceiling is None
        else _pass_fraction(health_ceiling, pass_cents),
        health_rate_above=0 if above is None else _scaled_rate(above, "health.rate_above"),
        health_minimum_base=pass_share("health", "health.minimum_base_pass", optional=True),
        health_includes_daily_allowances=read.get("health", "health.includes_daily_allowances"),
        daily_allowances_rate=rate("daily_allowances", "daily_allowances.rate"),
        daily_allowances_ceiling=pass_share("daily_allowances", "daily_allowances.ceiling_pass"),
        daily_allowances_minimum_base=pass_share(
            "daily_allowances", "daily_allowances.minimum_base_pass"
        ),
        basic_capped_rate=rate("basic_pension", "basic_pension.capped_rate"),
        basic_uncapped_rate=rate("basic_pension", "basic_pension.uncapped_rate"),
        basic_minimum_base=basic_min
        if basic_min is not None
        else _pass_fraction(basic_min_pass, pass_cents),
        complementary_lower_rate=rate("complementary_pension", "complementary_pension.lower_rate"),
        complementary_upper_rate=rate("complementary_pension", "complementary_pension.upper_rate"),
        complementary_ceiling=read.get("complementary_pension", "complementary_pension.ceiling"),
        complementary_upper_ceiling=pass_share(
            "complementary_pension", "complementary_pension.upper_ceiling_pass"
        ),
        complementary_minimum_base=pass_share(
            "complementary_pension", "complementary_pension.minimum_base_pass", optional=True
        ),
        invalidity_death_rate=rate("invalidity_death", f"invalidity_death.rate.{activity}"),
        invalidity_death_minimum_base=pass_share(
            "invalidity_death", "invalidity_death.minimum_base_pass"
        ),
        family_rate=_family_rate(read, pass_cents),
        csg_deductible_rate=rate("csg_deductible", "csg.deductible_rate"),
        csg_non_deductible_rate=rate("csg_non_deductible", "csg.non_deductible_rate"),
        crds_rate=rate("crds", "crds.rate"),
        vocational_training_rate=rate(
            "vocational_training", f"vocational_training.rate.{activity}"
        ),
        sources={k: tuple(v) for k, v in read.sources.items()},
    )
    rule = read.get("csg_deductible", "csg_crds.base_rule")
    if rule != "income_plus_contributions":
        raise ParameterError(f"self_employed.csg_crds.base_rule : règle inconnue {rule!r}")
    return rules


def compile_year(params: ParameterSet, year: int, activity: str) -> YearRules:
    """The rules of `year` for `activity`; raises ParameterError on a gap in the data."""
    if activity not in ACTIVITIES:
        raise DomainError.single(
            "activity", f"activité inconnue {activity!r} (craft ou trade)", "unknown_activity"
        )
    if not isinstance(year, int) or isinstance(year, bool):
        raise DomainError.single("year", f"année invalide {year!r}", "bad_year")
    return _compile_cached(params, year, activity)


# --- integer arithmetic shared by the scalar and the vectorised paths ------------------------------
# Every function below works on Python ints and on NumPy int64 arrays alike: only +, -, *, //,
# minimum/maximum and comparisons, with non-negative divisors.


def _half_up(numerator, denominator: int):
    """numerator / denominator rounded half-up (denominator > 0, numerator >= 0)."""
    if isinstance(denominator, int) and denominator % 2 == 0:  # one operation fewer, same result
        return (numerator + denominator // 2) // denominator
    return (2 * numerator + denominator) // (2 * denominator)


def _times_rate(base, rate: int):
    return _half_up(base * rate, RATE_SCALE)


def _clip(x, low: int, high: int | None = None):
    x = np.maximum(x, low)
    return x if high is None else np.minimum(x, high)


def _segment_terms(rate: ProgressiveRate, x):
    """(offset from the segment start, numerator, slope, denominator) of each income x >= 0."""
    if isinstance(x, np.ndarray):
        starts = np.array([seg.start for seg in rate.segments], dtype=np.int64)
        if len(starts) == 1:
            seg = rate.segments[0]
            return x - seg.start, seg.numerator, seg.slope, seg.denominator
        index = np.searchsorted(starts, x, side="right") - 1
        terms = [
            np.array([getattr(seg, name) for seg in rate.segments], dtype=np.int64)
            for name in ("numerator", "slope", "denominator")
        ]
        return (x - starts.take(index), *(t.take(index) for t in terms))
    seg = rate.segments[bisect_right([seg.start for seg in rate.segments], x) - 1]
    return x - seg.start, seg.numerator, seg.slope, seg.denominator


def _progressive_rate_rounded(rate: ProgressiveRate, x):
    """The rate in millionths at income x (>= 0), rounded half-up to `rounding_step`."""
    offset, numerator, slope, denominator = _segment_terms(rate, x)
    step = rate.rounding_step
    return _half_up(numerator + slope * offset, denominator * step) * step


def _progressive_amount(rate: ProgressiveRate, x, base):
    """base × rate(x), exact, rounded half-up to the cent (the rate itself is not rounded)."""
    offset, numerator, slope, denominator = _segment_terms(rate, x)
    return _half_up(base * (numerator + slope * offset), denominator * RATE_SCALE)


def _amounts(rules: YearRules, income, invalidity_death_rate=None, training_rate=None):
    """All items for incomes (int or int64 array), in the order of ITEMS.

    The two activity-dependent rates may be given per income (arrays), so that a batch needs
    one pass per year rather than per year and activity.
    """
    if invalidity_death_rate is None:
        invalidity_death_rate = rules.invalidity_death_rate
    if training_rate is None:
        training_rate = rules.vocational_training_rate
    x = _clip(income, 0)
    # health
    if rules.health_rate.rounding_step:
        health_rate = _progressive_rate_rounded(rules.health_rate, x)
        health_base = (
            x if rules.health_minimum_base is None else _clip(income, rules.health_minimum_base)
        )
        if rules.health_ceiling is None:
            health = _times_rate(health_base, health_rate)
        else:
            capped = np.minimum(health_base, rules.health_ceiling)
            excess = health_base - capped
            health = _half_up(capped * health_rate + excess * rules.health_rate_above, RATE_SCALE)
    else:
        # Rate not rounded (2013-2016): the amount is exact, e.g. the 2013-2014 minimum-base
        # reduction of CSS D612-7, an amount formula that is linear in the income.
        health_base = (
            x if rules.health_minimum_base is None else _clip(income, rules.health_minimum_base)
        )
        health = _progressive_amount(rules.health_rate, x, health_base)
    daily_base = _clip(income, rules.daily_allowances_minimum_base, rules.daily_allowances_ceiling)
    daily = _times_rate(daily_base, rules.daily_allowances_rate)
    if rules.health_includes_daily_allowances:
        daily = np.minimum(daily, health)
        health = health - daily
    basic_base = _clip(income, rules.basic_minimum_base)
    basic = _half_up(
        np.minimum(basic_base, rules.pass_cents) * rules.basic_capped_rate
        + basic_base * rules.basic_uncapped_rate,
        RATE_SCALE,
    )
    comp_floor = rules.complementary_minimum_base or 0
    comp_base = _clip(income, comp_floor, rules.complementary_upper_ceiling)
    comp_lower = np.minimum(comp_base, rules.complementary_ceiling)
    complementary = _half_up(
        comp_lower * rules.complementary_lower_rate
        + (comp_base - comp_lower) * rules.complementary_upper_rate,
        RATE_SCALE,
    )
    invalidity_base = _clip(income, rules.invalidity_death_minimum_base, rules.pass_cents)
    invalidity = _times_rate(invalidity_base, invalidity_death_rate)
    family = _progressive_amount(rules.family_rate, x, x)
    contributions = health + daily + basic + complementary + invalidity + family
    csg_base = _clip(income + contributions, 0)
    csg_deductible = _times_rate(csg_base, rules.csg_deductible_rate)
    csg_non_deductible = _times_rate(csg_base, rules.csg_non_deductible_rate)
    crds = _times_rate(csg_base, rules.crds_rate)
    training = _times_rate(rules.pass_cents, training_rate)
    if np.ndim(training) < np.ndim(income):
        training = np.full(np.shape(income), training, dtype=np.int64)
    return (
        health,
        daily,
        basic,
        complementary,
        invalidity,
        family,
        csg_deductible,
        csg_non_deductible,
        crds,
        training,
    ), (health_base, daily_base, basic_base, comp_base, invalidity_base, x, csg_base)


# --- public interface ------------------------------------------------------------------------------


def _check_income(income_cents) -> int:
    if not isinstance(income_cents, int) or isinstance(income_cents, bool):
        raise DomainError.single("income", "revenu à fournir en centimes entiers", "bad_amount")
    if abs(income_cents) > MAX_INCOME_CENTS:
        raise DomainError.single(
            "income",
            "revenu hors limites (au plus 1 milliard d'euros en valeur absolue)",
            "amount_out_of_range",
        )
    return income_cents


def assess_year(
    params: ParameterSet, year: int, activity: str, income_cents: int
) -> list[AssessedLine]:
    """The definitive contributions of `year` on that year's income, one line per item."""
    income = _check_income(income_cents)
    rules = compile_year(params, year, activity)
    amounts, bases = _amounts(rules, income)
    health_base, daily_base, basic_base, comp_base, invalidity_base, family_base, csg_base = (
        int(b) for b in bases
    )
    health_rate = (
        Decimal(int(_progressive_rate_rounded(rules.health_rate, max(income, 0)))) / RATE_SCALE
        if rules.health_rate.rounding_step
        else Decimal(rules.health_rate.segments[0].numerator) / RATE_SCALE
    )
    described = {
        "health": (health_base, rules.health_ceiling, health_rate),
        "daily_allowances": (
            daily_base,
            rules.daily_allowances_ceiling,
            Decimal(rules.daily_allowances_rate) / RATE_SCALE,
        ),
        "basic_pension": (
            basic_base,
            None,
            Decimal(rules.basic_capped_rate + rules.basic_uncapped_rate) / RATE_SCALE,
        ),
        "complementary_pension": (
            comp_base,
            rules.complementary_upper_ceiling,
            Decimal(rules.complementary_lower_rate) / RATE_SCALE,
        ),
        "invalidity_death": (
            invalidity_base,
            rules.pass_cents,
            Decimal(rules.invalidity_death_rate) / RATE_SCALE,
        ),
        "family_allowances": (family_base, None, None),
        "csg_deductible": (csg_base, None, Decimal(rules.csg_deductible_rate) / RATE_SCALE),
        "csg_non_deductible": (
            csg_base,
            None,
            Decimal(rules.csg_non_deductible_rate) / RATE_SCALE,
        ),
        "crds": (csg_base, None, Decimal(rules.crds_rate) / RATE_SCALE),
        "vocational_training": (
            rules.pass_cents,
            None,
            Decimal(rules.vocational_training_rate) / RATE_SCALE,
        ),
    }
    lines = []
    for item, amount in zip(ITEMS, amounts, strict=True):
        base, ceiling, rate = described[item]
        amount = int(amount)
        if rate is None:  # effective rate of a progressive item, shown for explanation only
            rate = (Decimal(amount) / base).quantize(Decimal("0.000001")) if base else Decimal(0)
        lines.append(
            AssessedLine(
                item=item,
                fund=FUNDS[item],
                label=LABELS[item],
                base=base,
                ceiling=ceiling,
                rate=rate,
                rounding=Rounding.HALF_UP,
                amount=amount,
                sources=rules.sources.get(item, ()),
                detail=_detail(item, rules, income),
            )
        )
    return lines


def _percent(rate_millionths: int) -> str:
    return f"{Decimal(rate_millionths) / 10_000:f}".rstrip("0").rstrip(".").replace(".", ",") + " %"


def _detail(item: str, rules: YearRules, income: int) -> tuple[str, ...]:
    """French notes for `explain`: brackets, floors and the reason for each."""
    notes = []
    if income < 0:
        notes.append("revenu déficitaire : assiettes minimales appliquées, revenu retenu pour 0")
    minimum = {
        "health": rules.health_minimum_base,
        "daily_allowances": rules.daily_allowances_minimum_base,
        "basic_pension": rules.basic_minimum_base,
        "invalidity_death": rules.invalidity_death_minimum_base,
    }.get(item)
    if minimum:
        notes.append(f"assiette minimale : {format_euros_fr(minimum)}")
    if item == "health":
        if rules.health_rate.rounding_step:
            notes.append("taux progressif selon le revenu, arrondi au centième de point")
        if rules.health_ceiling is not None:
            notes.append(
                f"au-delà de {format_euros_fr(rules.health_ceiling)} : "
                f"{_percent(rules.health_rate_above)}"
            )
        if rules.health_includes_daily_allowances:
            notes.append("barème maladie incluant les indemnités journalières, déduites ici")
    elif item == "basic_pension":
        notes.append(
            f"{_percent(rules.basic_capped_rate)} dans la limite de "
            f"{format_euros_fr(rules.pass_cents)} + {_percent(rules.basic_uncapped_rate)} "
            "sur la totalité"
        )
    elif item == "complementary_pension":
        notes.append(
            f"{_percent(rules.complementary_lower_rate)} jusqu'à "
            f"{format_euros_fr(rules.complementary_ceiling)}, "
            f"{_percent(rules.complementary_upper_rate)} jusqu'à "
            f"{format_euros_fr(rules.complementary_upper_ceiling)}"
        )
    elif item == "family_allowances":
        notes.append("taux effectif affiché ; taux réduit ou nul sous les seuils en PASS")
    elif item in ("csg_deductible", "csg_non_deductible", "crds"):
        notes.append("assiette : revenu + cotisations sociales obligatoires, au moins 0")
    elif item == "vocational_training":
        notes.append("assise sur le PASS de l'année, pas sur le revenu")
    return tuple(notes)


def summarise(lines: list[AssessedLine]) -> dict[str, int]:
    """Amounts by item, plus `csg_crds` and `total`."""
    result = {item: 0 for item in ITEMS}
    for line in lines:
        result[line.item] += line.amount
    result["csg_crds"] = result["csg_deductible"] + result["csg_non_deductible"] + result["crds"]
    result["total"] = sum(result[item] for item in ITEMS)
    return result


def _activity_masks(activities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is craft, is trade); compares fixed-width strings as integer rows, which is faster."""
    if activities.dtype.kind == "U" and activities.ndim == 1 and activities.size:
        width = activities.dtype.itemsize // 4
        if width >= 5:
            codes = activities.view(np.uint32).reshape(len(activities), width)

            def matches(word: str) -> np.ndarray:
                target = np.array([ord(c) for c in word.ljust(width, "\0")], dtype=np.uint32)
                return (codes == target).all(axis=1)

            return matches("craft"), matches("trade")
    return activities == "craft", activities == "trade"


def assess_batch(
    params: ParameterSet, years: np.ndarray, activities: np.ndarray, incomes_cents: np.ndarray
) -> dict[str, np.ndarray]:
    """`assess_year` for many contributor-years at once, on int64 cents; same results."""
    years = np.asarray(years)
    activities = np.asarray(activities)
    incomes = np.asarray(incomes_cents)
    if not (years.shape == activities.shape == incomes.shape) or incomes.ndim != 1:
        raise DomainError.single("income", "tableaux de même longueur attendus", "shape")
    if incomes.dtype.kind not in "iu":
        raise DomainError.single("income", "revenus en centimes entiers (int64)", "bad_amount")
    incomes = incomes.astype(np.int64, copy=False)
    if incomes.size and np.abs(incomes).max() > MAX_INCOME_CENTS:
        raise DomainError.single("income", "revenu hors limites", "amount_out_of_range")
    is_craft, is_trade = _activity_masks(activities)
    unknown = ~(is_craft | is_trade)
    if unknown.any():
        bad = activities[unknown][0]
        raise DomainError.single(
            "activity", f"activité inconnue {bad!r} (craft ou trade)", "unknown_activity"
        )
    if incomes.size == 0:
        return {key: np.zeros(0, dtype=np.int64) for key in SUMMARY_KEYS}
    years = years.astype(np.int64, copy=False)
    # One contiguous slice per year: sort once, compute on views, put back once. Years fit in a
    # small range, so they are sorted as 16-bit codes (radix sort).
    low = int(years.min())
    if int(years.max()) - low >= 2**16:
        raise DomainError.single("year", "années trop dispersées pour un même lot", "bad_year")
    order = np.argsort((years - low).astype(np.uint16), kind="stable")
    sorted_years = years[order]
    bounds = np.flatnonzero(np.diff(sorted_years)) + 1
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), len(order)]
    sorted_incomes = incomes[order]
    sorted_craft = is_craft[order]
    chunks = [(int(sorted_years[a]), a, b) for a, b in zip(starts, ends, strict=True)]
    parts = {key: np.empty(len(order), dtype=np.int64) for key in ITEMS}

    def run(chunk):
        year, a, b = chunk
        craft = compile_year(params, year, "craft")
        trade = compile_year(params, year, "trade")
        is_craft_here = sorted_craft[a:b]
        amounts, _ = _amounts(
            trade,
            sorted_incomes[a:b],
            np.where(is_craft_here, craft.invalidity_death_rate, trade.invalidity_death_rate),
            np.where(is_craft_here, craft.vocational_training_rate, trade.vocational_training_rate),
        )
        for key, amount in zip(ITEMS, amounts, strict=True):
            parts[key][a:b] = amount

    for year, _, _ in chunks:  # compile (and raise on a gap) before any work starts
        compile_year(params, year, "craft")
        compile_year(params, year, "trade")
    pieces = [
        (year, a + offset, min(a + offset + _SLICE, b))
        for year, a, b in chunks
        for offset in range(0, b - a, _SLICE)
    ]
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        list(pool.map(run, pieces))
    out = {}
    for key in ITEMS:
        out[key] = np.empty(len(order), dtype=np.int64)
        out[key][order] = parts[key]
    out["csg_crds"] = out["csg_deductible"] + out["csg_non_deductible"] + out["crds"]
    out["total"] = sum(out[key] for key in ITEMS)
    return out
