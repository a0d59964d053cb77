"""Billing the management fees of an agreement: computed from its settings, invoiced once, posted.

The collection fee rests on the fund's receipts of the year, read from the journal (the same
figures as the transfers); the audit fee on the number of audits completed in the year, read from
the audit plan's records (the accounting officer may give the figure instead, e.g. for audits
carried out before the system). An invoice is issued once per
agreement, category and year: the same request again returns it; a different base is refused, since
an issued invoice is corrected by a credit note, not replaced.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from sqlalchemy import Engine, insert, select

from recouvrement.adapters.db.fee_tables import fee_invoice
from recouvrement.adapters.documents.pdf import render_pdf
from recouvrement.agreements.loader import AgreementError, shipped_agreements
from recouvrement.agreements.model import ResolvedAgreement
from recouvrement.domain.actors import Actor, Permission, require, system_actor
from recouvrement.domain.errors import Conflict, DomainError, Forbidden, NotFound, Problem
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.management_fees import (
    FeeRule,
    billing_quarter,
    check_issue_day,
    fee_amount,
    fee_rule,
)
from recouvrement.domain.money import format_euros_fr
from recouvrement.services import audit
from recouvrement.services.audit_plan import completed_audits
from recouvrement.services.fund_accounts import fund_receipts
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork

LABELS = {"collection": "recouvrement", "audit": "contrôle"}


def _resolved(agreement: str, year: int) -> ResolvedAgreement:
    try:
        registry = shipped_agreements()
        return registry.resolve(
            agreement, max(date(year, 1, 1), registry.get(agreement).valid_from)
        )
    except AgreementError as err:
        raise NotFound.single("agreement", str(err), "unknown_agreement") from None


def _rule(resolved: ResolvedAgreement, category: str) -> tuple[FeeRule, dict, str]:
    keys = (f"fees.{category}.first_billing", f"fees.{category}.formula")
    missing = [k for k in keys if k not in resolved.settings]
    if category not in LABELS or missing:
        raise DomainError.single(
            "category",
            f"pas de frais « {category} » dans la convention {resolved.agreement.code}",
            "no_fee_rule",
        )
    billing, formula = (resolved.settings[k] for k in keys)
    return fee_rule(category, billing.value, formula.value), formula.value, formula.source


def _base(engine: Engine, rule: FeeRule, formula: dict, year: int, audits: int | None) -> int:
    if rule.basis == "fund_receipts":
        if audits is not None:
            raise DomainError.single(
                "audits", "les frais de recouvrement portent sur les encaissements"
            )
        with engine.connect() as conn:
            return fund_receipts(conn, formula["fund"], year, formula.get("territory"))
    if audits is None:
        audits = completed_audits(engine, year, formula.get("territory"))
        if not audits:
            raise DomainError.single(
                "audits", f"aucun contrôle achevé en {year} : rien à facturer", "no_audit"
            )
        return audits
    if isinstance(audits, bool) or not isinstance(audits, int) or audits < 0:
        raise DomainError.single(
            "audits", f"nombre de contrôles achevés en {year} attendu (entier positif)", "invalid"
        )
    return audits


def _formula_label(rule: FeeRule) -> str:
    if rule.rate is not None:
        percent = (rule.rate * 100).normalize()
        return f"{str(percent).replace('.', ',')} % des encaissements"
    return f"{format_euros_fr(rule.unit_cost)} par contrôle achevé"


def _number(agreement: str, category: str, year: int) -> str:
    return f"FRAIS-{category[:3].upper()}-{year}-{agreement.upper()}"[:40]


def _fund_code(organisation: str) -> str:
    return organisation.lower().replace("-", "_")


def _recipient(resolved: ResolvedAgreement, organisation: str) -> dict:
    names = {p.organisation: p.name for a in resolved.chain for p in a.parties}
    annex = resolved.annexes.get("annex_3", ({}, ""))[0] or {}
    lines = [
        r["name"] for r in annex.get("recipients", []) if r.get("organisation") == organisation
    ]
    return {"name": names.get(organisation, organisation), "address_lines": lines}


def _issuer(resolved: ResolvedAgreement) -> dict:
    for agreement in resolved.chain:
        for party in agreement.parties:
            if party.role == "central_agency":
                return {"code": party.organisation, "name": party.name}
    return {"code": "", "name": resolved.agreement.title}


def _pdf(resolved: ResolvedAgreement, rule: FeeRule, row: dict, source: str) -> bytes:
    start, end = billing_quarter(rule, row["year"])
    return render_pdf(
        "fee_invoice",
        {
            "document_date": row["issued_on"].isoformat(),
            "issuer": _issuer(resolved),
            "recipient": _recipient(resolved, row["billed_to"]),
            "invoice": {
                "number": row["number"],
                "category_label": LABELS[row["category"]],
                "year": row["year"],
                "agreement_title": resolved.agreement.title,
                "base_label": (
                    f"Encaissements {row['year']}"
                    if rule.basis == "fund_receipts"
                    else f"Contrôles achevés en {row['year']}"
                ),
                "base": row["base"],
                "base_is_money": rule.basis == "fund_receipts",
                "formula_label": row["formula"],
                "amount": row["amount"],
                "billing_quarter": f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}",
            },
            "source": source,
        },
    )


def issue_fee_invoice(
    engine: Engine,
    actor: Actor,
    *,
    agreement: str,
    category: str,
    year: int,
    on: date,
    audits: int | None = None,
) -> tuple[dict, bytes]:
    """Compute, record and post the invoice of a category's fees for a year; returns it and its PDF."""
    require(actor, Permission.LEDGER_POST)
    action, object_id = "fees.invoice", f"{agreement}/{category}/{year}"
    try:
        resolved = _resolved(agreement, year)
        rule, formula, source = _rule(resolved, category)
        late = check_issue_day(rule, year, on)
        base = _base(engine, rule, formula, year, audits)
        amount = fee_amount(rule, base)
    except DomainError as err:
        audit.record_refusal(engine, actor, action, "fee_invoice", object_id, str(err))
        raise
    with engine.connect() as conn:
        existing = (
            conn.execute(
                select(fee_invoice).where(
                    fee_invoice.c.agreement == agreement,
                    fee_invoice.c.category == category,
                    fee_invoice.c.year == year,
                )
            )
            .mappings()
            .first()
        )
    if existing is not None:
        if (existing["base"], existing["amount"]) != (base, amount):
            raise Conflict.single(
                "year",
                f"facture {existing['number']} déjà émise le {existing['issued_on']:%d/%m/%Y} "
                f"pour {format_euros_fr(existing['amount'])} : la corriger par un avoir",
                "already_invoiced",
            )
        row = dict(existing)
        return row, _pdf(resolved, rule, row, source)
    row = {
        "agreement": agreement,
        "category": category,
        "year": year,
        "number": _number(agreement, category, year),
        "billed_to": rule.billed_to,
        "issued_on": on,
        "late": late,
        "base": base,
        "formula": _formula_label(rule),
        "amount": amount,
        "entry_key": f"fee:{agreement}:{category}:{year}",
        "created_by": actor.login,
        "created_at": datetime.now(UTC),
    }
    pdf = _pdf(resolved, rule, row, source)
    row["pdf_sha256"] = hashlib.sha256(pdf).hexdigest()
    fund, item = _fund_code(rule.billed_to), f"{category}_fees"
    entry = Entry(
        row["entry_key"],
        on,
        Cause.FEE,
        (
            Posting(LedgerAccount.FEE_RECEIVABLE, None, fund, item, str(year), amount),
            Posting(LedgerAccount.FEE_REVENUE, None, fund, item, str(year), -amount),
        ),
        f"Facture {row['number']} : frais de {LABELS[category]} {year}",
    )
    with UnitOfWork(engine) as uow:
        row["id"] = uow.conn.execute(insert(fee_invoice).values(**row)).inserted_primary_key[0]
        if amount:
            post_entries(uow.conn, system_actor(f"frais:{actor.login}"), [entry])
        audit.record(
            uow.conn,
            actor,
            action,
            "fee_invoice",
            object_id,
            {"number": row["number"], "base": base, "amount": amount, "late": late},
        )
        uow.commit()
    return row, pdf


def fee_invoice_pdf(engine: Engine, actor: Actor, number: str) -> tuple[dict, bytes]:
    """The invoice again, byte for byte as issued (its fingerprint is checked)."""
    require(actor, Permission.LEDGER_READ)
    if actor.is_contributor:
        raise Forbidden(Problem("", "factures réservées aux organismes", "forbidden"))
    with engine.connect() as conn:
        row = (
            conn.execute(select(fee_invoice).where(fee_invoice.c.number == number))
            .mappings()
            .first()
        )
    if row is None:
        raise NotFound.single("number", f"facture inconnue : {number}")
    row = dict(row)
    resolved = _resolved(row["agreement"], row["year"])
    rule, _, source = _rule(resolved, row["category"])
    pdf = _pdf(resolved, rule, row, source)
    if hashlib.sha256(pdf).hexdigest() != row["pdf_sha256"]:
        raise DomainError.single(
            "number", "la facture réimprimée diffère de la facture émise", "pdf_mismatch"
        )
    return row, pdf
