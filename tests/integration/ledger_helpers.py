"""Contributors and entries for the ledger tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from stdnum import luhn

from recouvrement.adapters.db.tables import account_balance, journal_entry, journal_posting
from recouvrement.domain.contributors import ContributorDraft, ContributorKind
from recouvrement.domain.ledger import Entry, Posting
from recouvrement.services import contributors

TODAY = date(2026, 11, 24)


def siren(n: int) -> str:
    base = f"{n:08d}"
    return base + luhn.calc_check_digit(base)


def open_account(world, n: int, organisation: str = "URSSAF-REG") -> int:
    """A contributor (an employer) of the organisation, with its account."""
    agent = world.cssm_agent if organisation == "CSSM" else world.urssaf_agent
    draft = ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name=f"Employeur {n}",
        territory="976" if organisation == "CSSM" else "69",
        organisation_code=organisation,
        siren=siren(n),
    )
    return contributors.create_contributor(world.engine, agent, draft, TODAY)["id"]


def assessment(
    key: str,
    cid: int,
    amount: int,
    day: date = date(2024, 3, 15),
    fund: str = "unedic",
    item: str = "unemployment_employer",
    period: str = "2024-02",
) -> Entry:
    return Entry(
        key,
        day,
        "assessment",
        (
            Posting("receivable", cid, fund, item, period, amount),
            Posting("fund_revenue", None, fund, item, period, -amount),
        ),
        description="Cotisations de février",
    )


def payment(key: str, cid: int, amount: int, day: date = date(2024, 4, 2), **kw) -> Entry:
    fund = kw.get("fund", "unedic")
    item = kw.get("item", "unemployment_employer")
    period = kw.get("period", "2024-02")
    return Entry(
        key,
        day,
        "payment",
        (
            Posting("bank", None, "", "", "", amount),
            Posting("receivable", cid, fund, item, period, -amount),
        ),
    )


def counts(engine) -> tuple[int, int, int, int]:
    """Rows in the journal and the cache, and the sum of the cache: to prove nothing changed."""
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(journal_entry)),
            conn.scalar(select(func.count()).select_from(journal_posting)),
            conn.scalar(select(func.count()).select_from(account_balance)),
            conn.scalar(select(func.coalesce(func.sum(account_balance.c.balance), 0))),
        )
