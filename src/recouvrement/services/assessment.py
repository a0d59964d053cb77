"""Explaining one case, for the API and the command line alike."""

from __future__ import annotations

from recouvrement.domain.assessment.batch import explain_record
from recouvrement.domain.errors import DomainError
from recouvrement.rules.parameters import ParameterError, load_parameters

CASE_FIELDS = (
    "scheme",
    "period",
    "territory",
    "gross_pay",
    "birth_date",
    "days",
    "public_sector",
    "opt_in",
    "year",
    "activity",
    "income",
)


def explain(**case) -> dict:
    """Each line's base, ceiling, rate, rounding and sources; a gap in the law data is an error
    naming the missing figure, never a guess."""
    record = {name: case.get(name) for name in CASE_FIELDS}
    try:
        return explain_record(load_parameters(), record)
    except ParameterError as err:
        raise DomainError.single("", str(err), "parameter_gap") from None
