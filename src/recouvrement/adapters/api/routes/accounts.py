"""A contributor's account: balances by fund, item and period, and the entries that made them.

Amounts are integer cents. A contributor sees only their own account; an agent, the accounts of
the organisations they reach.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request

from recouvrement.adapters.api.security import current_actor
from recouvrement.domain.actors import Actor
from recouvrement.services import ledger as service

router = APIRouter(tags=["comptes"])


@router.get("/accounts/{contributor_id}")
def get_account(
    contributor_id: int,
    request: Request,
    actor: Actor = Depends(current_actor),
    as_of: date | None = Query(
        None, description="date de valeur : soldes et écritures à cette date (AAAA-MM-JJ)"
    ),
    limit: int = Query(50, ge=1, le=service.MAX_PAGE, description="écritures par page"),
    after: str | None = Query(None, description="curseur `next` de la page précédente"),
) -> dict:
    """Solde total (compte cotisant), soldes par fonds et par fonds · rubrique · période, et une
    page des écritures du compte avec les lignes du cotisant, les plus récentes d'abord."""
    return service.account_statement(
        request.app.state.engine, actor, contributor_id, as_of=as_of, limit=limit, after=after
    )


@router.get("/accounts/{contributor_id}/balance")
def get_balance(
    contributor_id: int,
    request: Request,
    actor: Actor = Depends(current_actor),
    fund: str | None = None,
    item: str | None = None,
    period: str | None = None,
    as_of: date | None = None,
    ledger_account: str = "receivable",
) -> dict:
    """Un solde, restreint à un fonds, une rubrique, une période, à une date de valeur."""
    amount = service.balance(
        request.app.state.engine,
        actor,
        contributor_id,
        fund=fund,
        item=item,
        period=period,
        as_of=as_of,
        ledger_account=ledger_account,
    )
    return {
        "contributor_id": contributor_id,
        "ledger_account": ledger_account,
        "fund": fund,
        "item": item,
        "period": period,
        "as_of": as_of.isoformat() if as_of else None,
        "unit": "cents",
        "balance": amount,
    }
