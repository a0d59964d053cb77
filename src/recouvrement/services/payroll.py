"""Payroll declarations: store, assess, and post the debts to the employer's account.

One declaration per establishment and month, kept by version. Submitting the same content again is
a replay and changes nothing; a different content is a correction: a new version whose entry posts
only the difference with the version before, per fund, item and period. Each entry's idempotency key
names the establishment, the month and the version, so a retried import cannot post twice.
The entry is posted by the collection system on behalf of the agent who filed the declaration:
an accepted declaration makes its debt due without a second decision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from recouvrement.adapters.db.payroll_tables import (
    payroll_declaration,
    payroll_declaration_line,
    unemployment_opt_in,
)
from recouvrement.adapters.db.tables import contributor, establishment
from recouvrement.domain.actors import Actor, Permission, require, require_contributor, system_actor
from recouvrement.domain.assessment.batch import employee_month
from recouvrement.domain.assessment.employer import FUNDS, ITEMS, assess_employee_month
from recouvrement.domain.errors import Conflict, DomainError, NotFound, Problem
from recouvrement.domain.identifiers import validate_nir, validate_siret
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.money import format_euros
from recouvrement.rules.parameters import ParameterError, load_parameters
from recouvrement.services import audit, calls
from recouvrement.services.ledger import post_entries
from recouvrement.services.unit_of_work import UnitOfWork


def _establishment(conn: Connection, siret: str):
    row = conn.execute(
        select(
            establishment.c.id,
            establishment.c.territory,
            contributor.c.id.label("contributor_id"),
            contributor.c.organisation_id,
            contributor.c.kind,
            contributor.c.public_sector,
        )
        .join(contributor, contributor.c.id == establishment.c.contributor_id)
        .where(establishment.c.siret == siret)
    ).first()
    if row is None:
        raise NotFound(Problem("siret", f"établissement {siret} inconnu", "not_found"))
    if row.kind != "employer":
        raise DomainError.single("siret", "cet établissement n'est pas celui d'un employeur")
    return row


def _opt_in(conn: Connection, contributor_id: int) -> date | None:
    return conn.execute(
        select(unemployment_opt_in.c.opt_in_date).where(
            unemployment_opt_in.c.contributor_id == contributor_id
        )
    ).scalar()


def _cases(lines: Sequence[dict], period: str, territory: str, public: bool, opt_in):
    """Validated employee-months; every problem of every line is reported at once."""
    problems: list[Problem] = []
    cases = []
    for i, raw in enumerate(lines):
        try:
            nir = validate_nir(str(raw.get("nir") or ""), f"lines[{i}].nir")
            if not raw.get("birth_date"):
                raise DomainError.single(
                    f"lines[{i}].birth_date", "date de naissance obligatoire", "required"
                )
            case = employee_month(
                {
                    **raw,
                    "period": period,
                    "territory": territory,
                    "public_sector": public,
                    "opt_in": opt_in,
                }
            )
            cases.append((nir, case))
        except DomainError as err:
            problems.extend(
                p
                if p.field.startswith("lines[")
                else Problem(f"lines[{i}].{p.field}", p.reason, p.code)
                for p in err.problems
            )
    if not lines:
        problems.append(Problem("lines", "au moins une ligne salarié attendue", "required"))
    if problems:
        raise DomainError(*problems)
    return cases


def _fingerprint(siret: str, period: str, cases) -> str:
    canonical = [[nir, c.birth_date.isoformat(), c.gross_pay, c.days] for nir, c in cases]
    text = json.dumps([siret, period, canonical], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _previous_totals(conn: Connection, declaration_id: int | None) -> dict[str, int]:
    if declaration_id is None:
        return dict.fromkeys(ITEMS, 0)
    row = conn.execute(
        select(*(func.coalesce(func.sum(payroll_declaration_line.c[i]), 0) for i in ITEMS)).where(
            payroll_declaration_line.c.declaration_id == declaration_id
        )
    ).one()
    return {item: int(value) for item, value in zip(ITEMS, row, strict=True)}


def _entry(key: str, contributor_id: int, period: str, diff: dict[str, int], today: date, version):
    postings = []
    for item in ITEMS:
        if diff[item]:
            postings.append(
                Posting(
                    LedgerAccount.RECEIVABLE, contributor_id, FUNDS[item], item, period, diff[item]
                )
            )
            postings.append(
                Posting(LedgerAccount.FUND_REVENUE, None, FUNDS[item], item, period, -diff[item])
            )
    if not postings:
        return None
    kind = "déclaration" if version == 1 else f"déclaration rectificative n° {version}"
    return Entry(
        key, today, Cause.DECLARATION, tuple(postings), f"Assurance chômage et AGS {period}, {kind}"
    )


def declare(
    engine: Engine,
    actor: Actor,
    siret: str,
    period: str,
    lines: Sequence[dict],
    today: date,
    source: str = "",
) -> dict:
    """File one establishment's declaration for one month; assess it and post what changed.

    Returns the version, the totals of the declaration, what was posted and the entry's key.
    All or nothing: a bad line rejects the whole declaration, with every problem named.
    """
    require(actor, Permission.CONTRIBUTORS_WRITE)
    siret = validate_siret(siret, "siret")
    params = load_parameters()
    with UnitOfWork(engine) as uow:
        conn = uow.conn
        est = _establishment(conn, siret)
        require_contributor(actor, est.contributor_id, est.organisation_id)
        cases = _cases(
            lines, period, est.territory, est.public_sector, _opt_in(conn, est.contributor_id)
        )
        period_text = str(cases[0][1].period)
        try:
            assessed = [
                {line.item: line for line in assess_employee_month(params, case)}
                for _, case in cases
            ]
        except ParameterError as err:
            raise DomainError.single("period", str(err), "parameter_gap") from None
        fp = _fingerprint(siret, period_text, cases)
        latest = conn.execute(
            select(
                payroll_declaration.c.id,
                payroll_declaration.c.version,
                payroll_declaration.c.fingerprint,
                payroll_declaration.c.entry_key,
            )
            .where(
                payroll_declaration.c.establishment_id == est.id,
                payroll_declaration.c.period == period_text,
            )
            .order_by(payroll_declaration.c.version.desc())
            .limit(1)
        ).first()
        totals = {item: sum(a[item].amount for a in assessed) for item in ITEMS}
        if latest is not None and latest.fingerprint == fp:
            return _result(
                "already_declared", latest.id, latest.version, totals, {}, latest.entry_key
            )
        version = 1 if latest is None else latest.version + 1
        previous = _previous_totals(conn, None if latest is None else latest.id)
        diff = {item: totals[item] - previous[item] for item in ITEMS}
        key = f"payroll:{siret}:{period_text}:v{version}"
        entry = _entry(key, est.contributor_id, period_text, diff, today, version)
        declaration_id = conn.execute(
            insert(payroll_declaration)
            .values(
                contributor_id=est.contributor_id,
                establishment_id=est.id,
                period=period_text,
                version=version,
                fingerprint=fp,
                entry_key=None if entry is None else key,
                received_by=actor.login,
                received_at=datetime.now(UTC),
                source=source[:255],
            )
            .returning(payroll_declaration.c.id)
        ).scalar_one()
        conn.execute(
            insert(payroll_declaration_line),
            [
                {
                    "declaration_id": declaration_id,
                    "contributor_id": est.contributor_id,
                    "line_no": n,
                    "nir": nir,
                    "birth_date": case.birth_date,
                    "gross_pay": case.gross_pay,
                    "days": case.days,
                    "base": a[ITEMS[0]].base,
                    **{item: a[item].amount for item in ITEMS},
                }
                for n, ((nir, case), a) in enumerate(zip(cases, assessed, strict=True), start=1)
            ],
        )
        if entry is not None:
            post_entries(conn, system_actor(f"déclaration:{actor.login}"), [entry])
        # The call of the employer's month, created or corrected with the declaration (R243-6).
        calls.record_employer_call(conn, est.contributor_id, period_text, sum(diff.values()), today)
        audit.record(
            conn,
            actor,
            "payroll.declare",
            "payroll_declaration",
            declaration_id,
            {
                "siret": siret,
                "period": period_text,
                "version": version,
                "posted": {k: v for k, v in diff.items() if v},
                "entry_key": entry and key,
                "source": source,
            },
        )
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict(
                Problem(
                    "period",
                    "une autre version de cette déclaration vient d'être enregistrée",
                    "concurrent",
                )
            ) from None
    return _result("declared", declaration_id, version, totals, diff, entry and key)


def _result(status, declaration_id, version, totals, diff, key) -> dict:
    return {
        "status": status,
        "declaration_id": declaration_id,
        "version": version,
        "totals": {k: format_euros(v) for k, v in totals.items()},
        "posted": {k: format_euros(v) for k, v in diff.items() if v},
        "entry_key": key,
    }


def record_opt_in(engine: Engine, actor: Actor, contributor_id: int, opt_in_date: date) -> None:
    """A public-sector employer's adhesion to the unemployment scheme, effective from its date."""
    require(actor, Permission.CONTRIBUTORS_WRITE)
    with UnitOfWork(engine) as uow:
        row = uow.conn.execute(
            select(
                contributor.c.organisation_id, contributor.c.public_sector, contributor.c.kind
            ).where(contributor.c.id == contributor_id)
        ).first()
        if row is None:
            raise NotFound(Problem("contributor_id", "cotisant inconnu", "not_found"))
        require_contributor(actor, contributor_id, row.organisation_id)
        if row.kind != "employer" or not row.public_sector:
            raise DomainError.single(
                "contributor_id",
                "l'adhésion ne concerne que les employeurs du secteur public",
                "not_public_sector",
            )
        if _opt_in(uow.conn, contributor_id) is not None:
            raise Conflict(Problem("opt_in_date", "adhésion déjà enregistrée", "already_recorded"))
        uow.conn.execute(
            insert(unemployment_opt_in).values(
                contributor_id=contributor_id,
                opt_in_date=opt_in_date,
                recorded_by=actor.login,
                recorded_at=datetime.now(UTC),
            )
        )
        audit.record(
            uow.conn,
            actor,
            "payroll.opt_in",
            "contributor",
            contributor_id,
            {"opt_in_date": opt_in_date.isoformat()},
        )
        uow.commit()
