"""Every API route × every kind of caller: who is let through and who is refused.

The table below classifies each route of the API. A route missing from it makes the test fail, so
a new route cannot ship without someone deciding who may call it. Each refusal (401 or 403) must
also be in the audit trail as a refused attempt. "Allowed" means the caller got past the rights
checks: the answer may still be 404 or 422 for the data sent, never 401 or 403.

Callers: one agent per role of the URSSAF party to the regional ISU agreement, a contributor
logged in to their own account, nobody, a forged token and an expired token; and the agent of
role `agent` once more through a web session, who must meet exactly what their token meets.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from recouvrement.adapters.api import create_app
from recouvrement.adapters.db.tables import audit_event
from recouvrement.domain.contributors import (
    Activity,
    ContributorDraft,
    ContributorKind,
    Establishment,
)
from recouvrement.services import authentication, cases, contributors, organisations, sessions
from recouvrement.services import authorizations as rights

from .conftest import SYSTEM

TODAY = date.today()
TRAINING = "isu-operations-communes"  # the art. 3 training for work done for the partner
IN_FORCE = date(2016, 3, 1)  # the regional ISU agreement runs 2014-2017
PASSWORD = "un mot de passe assez long"
ROLES = (
    "agent",
    "joint_unit_agent",
    "manager",
    "director",
    "accounting_officer",
    "auditor",
    "appeals_board_member",
    "administrator",
)
CALLERS = (*ROLES, "contributor", "anonymous", "forged", "expired", "agent_session")
SAME_AS = {"agent_session": "agent"}  # a session gives the actor a token gives

# Who is let through, by group.
NOBODY: frozenset[str] = frozenset()
EVERYONE = frozenset(CALLERS)
AUTHENTICATED = frozenset((*ROLES, "contributor"))
AGENTS = frozenset(ROLES)
WRITERS = frozenset({"agent", "joint_unit_agent", "manager", "administrator"})
WORKERS = frozenset({"agent", "joint_unit_agent", "manager"})  # ISU activities, cases
HIERARCHY = frozenset({"manager", "director", "administrator"})
READERS_OF_AGENTS = frozenset({"manager", "director", "auditor", "administrator"})
AUDIT_READERS = frozenset({"auditor", "director"})
MANAGER = frozenset({"manager"})
# Audit plan (services/audit_plan.py): its planners, and the directors who sign it off.
AUDIT_PLANNERS = WORKERS | {"director", "administrator"}
# Bank receipts: the collector's agents and its accounting officer (services/receipts.py).
RECEIPT_HANDLERS = WRITERS | {"accounting_officer"}
# Write-offs (services/write_offs.py): the director and the accounting officer approve.
APPROVERS = frozenset({"director", "accounting_officer", "administrator"})
REMITTED_KEY = {"fund": "unedic", "item": "surcharge_initial", "period": "2016-01"}


class Probe(NamedTuple):
    """One request on a route and the callers expected to get through.

    `{own_case}` in the url stands for a case opened for that caller alone, for requests whose
    success changes the case's state (a second caller would meet a case already moved on).
    """

    allowed: frozenset[str]
    url: str
    json: dict | None = None
    files: dict | None = None
    data: dict | None = None


def api_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route under /api/v1, whichever way routers are included."""

    def walk(routes, prefix=""):
        for r in routes:
            if isinstance(r, APIRoute):
                for method in r.methods:
                    yield method, prefix + r.path
            elif hasattr(r, "include_context"):  # FastAPI ≥ 0.120 keeps included routers whole
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif hasattr(r, "routes"):
                yield from walk(r.routes, prefix + getattr(r, "path", ""))

    return {(m, p) for m, p in walk(app.routes) if p.startswith("/api/v1/")}


def _table(ids: dict) -> dict[tuple[str, str], list[Probe]]:
    c, other, case, att = ids["contributor"], ids["other"], ids["case"], ids["attachment"]
    grant, imp, target = ids["authorization"], ids["import"], "r.agent"
    craftsman = {
        "kind": "self_employed",
        "name": "Paul Durand",
        "organisation": "URSSAF-RA",
        "territory": "69",
        "nir": "180017512345661",
        "activity": "trade",
        "activity_start": "2019-06-01",
    }
    return {
        # Contributors and their account: writers create; agents read in reach; a contributor
        # reads only their own.
        ("POST", "/api/v1/contributors"): [Probe(WRITERS, "/api/v1/contributors", craftsman)],
        ("GET", "/api/v1/contributors"): [Probe(AUTHENTICATED, "/api/v1/contributors")],
        ("GET", "/api/v1/contributors/{contributor_id}"): [
            Probe(AUTHENTICATED, f"/api/v1/contributors/{c}"),
            Probe(NOBODY | {"administrator"}, f"/api/v1/contributors/{other}"),
        ],
        ("POST", "/api/v1/contributors/{contributor_id}/employees"): [
            Probe(
                WRITERS,
                f"/api/v1/contributors/{ids['employer']}/employees",
                {"nir": "285036912304579", "birth_date": "1985-03-01"},
            )
        ],
        ("GET", "/api/v1/accounts/{contributor_id}"): [
            Probe(AUTHENTICATED, f"/api/v1/accounts/{c}"),
            Probe(NOBODY | {"administrator"}, f"/api/v1/accounts/{other}"),
        ],
        ("GET", "/api/v1/accounts/{contributor_id}/balance"): [
            Probe(AUTHENTICATED, f"/api/v1/accounts/{c}/balance"),
            Probe(NOBODY | {"administrator"}, f"/api/v1/accounts/{other}/balance"),
        ],
        ("GET", "/api/v1/accounts/{contributor_id}/statement"): [
            Probe(AUTHENTICATED, f"/api/v1/accounts/{c}/statement?as_of=2024-06-30"),
            Probe(NOBODY | {"administrator"}, f"/api/v1/accounts/{other}/statement"),
        ],
        ("GET", "/api/v1/accounts/{contributor_id}/statement.pdf"): [
            Probe(AUTHENTICATED, f"/api/v1/accounts/{c}/statement.pdf?as_of=2024-06-30"),
            Probe(NOBODY | {"administrator"}, f"/api/v1/accounts/{other}/statement.pdf"),
        ],
        # A call of no one: the rights are checked before the call is looked for (404).
        ("GET", "/api/v1/calls/{call_id}/notice.pdf"): [
            Probe(AUTHENTICATED, "/api/v1/calls/999999999/notice.pdf")
        ],
        # Calls: read like the account; agents who write call a self-employed year and enter
        # or check exemptions (the four-eyes rule is the service's, tested with the exemptions).
        ("GET", "/api/v1/calls"): [
            Probe(AUTHENTICATED, "/api/v1/calls"),
            Probe(NOBODY | {"administrator"}, f"/api/v1/calls?contributor_id={other}"),
        ],
        ("GET", "/api/v1/calls/{call_id}"): [Probe(AUTHENTICATED, "/api/v1/calls/999999999")],
        ("POST", "/api/v1/calls/self-employed"): [
            Probe(
                WRITERS,
                "/api/v1/calls/self-employed",
                {"contributor_id": c, "year": 2026, "income": "30000.00", "on": "2025-11-15"},
            )
        ],
        ("POST", "/api/v1/calls/self-employed/income-declarations"): [
            Probe(
                WRITERS,
                "/api/v1/calls/self-employed/income-declarations",
                {"contributor_id": c, "year": 2026, "income": "31000.00", "on": "2027-05-10"},
            )
        ],
        ("POST", "/api/v1/exemptions"): [
            Probe(
                WRITERS,
                "/api/v1/exemptions",
                {"contributor_id": c, "start_date": "2015-03-01", "on": "2016-01-04"},
            )
        ],
        ("GET", "/api/v1/exemptions"): [
            Probe(AUTHENTICATED, f"/api/v1/exemptions?contributor_id={c}"),
            Probe(NOBODY | {"administrator"}, f"/api/v1/exemptions?contributor_id={other}"),
        ],
        ("GET", "/api/v1/exemptions/{exemption_id}"): [
            Probe(AUTHENTICATED, "/api/v1/exemptions/999999999")
        ],
        ("POST", "/api/v1/exemptions/{exemption_id}/check"): [
            Probe(WRITERS, "/api/v1/exemptions/999999999/check", {"approve": True})
        ],
        # Registration flows: the agents who import them.
        ("POST", "/api/v1/registration/imports"): [
            Probe(
                WRITERS,
                "/api/v1/registration/imports",
                files={"file": ("flux.csv", REGISTRATION_CSV, "text/csv")},
            )
        ],
        ("GET", "/api/v1/registration/imports/{import_id}"): [
            Probe(WRITERS, f"/api/v1/registration/imports/{imp}")
        ],
        ("GET", "/api/v1/registration/rejects"): [Probe(WRITERS, "/api/v1/registration/rejects")],
        # Assessment: the explanation of a computation is open to every authenticated caller.
        ("GET", "/api/v1/assessments/explain"): [
            Probe(
                AUTHENTICATED,
                "/api/v1/assessments/explain?period=2020-03&territory=75&gross_pay=2500.00",
            )
        ],
        ("POST", "/api/v1/assessments/declarations"): [
            Probe(
                WRITERS,
                "/api/v1/assessments/declarations",
                {
                    "siret": SIRET,
                    "period": "2020-03",
                    "lines": [
                        {"nir": "180017512345660", "birth_date": "1980-01-01", "gross_pay": "2500"}
                    ],
                },
            )
        ],
        # Agents, their rights and trainings.
        ("GET", "/api/v1/agents"): [Probe(READERS_OF_AGENTS, "/api/v1/agents")],
        ("POST", "/api/v1/agents"): [
            Probe(
                frozenset({"administrator"}),
                "/api/v1/agents",
                {"login": "n.ali", "name": "N. Ali", "organisation": "RSI-RA", "roles": ["agent"]},
            )
        ],
        ("GET", "/api/v1/agents/{login}"): [
            Probe(READERS_OF_AGENTS | {"agent"}, f"/api/v1/agents/{target}")
        ],
        ("GET", "/api/v1/agents/{login}/authorizations"): [
            Probe(READERS_OF_AGENTS | {"agent"}, f"/api/v1/agents/{target}/authorizations")
        ],
        ("POST", "/api/v1/agents/{login}/authorizations"): [
            Probe(
                HIERARCHY,
                f"/api/v1/agents/{target}/authorizations",
                {"activity": "complaints", "valid_from": "2015-01-01"},
            )
        ],
        ("DELETE", "/api/v1/authorizations/{authorization_id}"): [
            Probe(HIERARCHY, f"/api/v1/authorizations/{grant}")
        ],
        ("GET", "/api/v1/agents/{login}/trainings"): [
            Probe(READERS_OF_AGENTS | {"agent"}, f"/api/v1/agents/{target}/trainings")
        ],
        ("POST", "/api/v1/agents/{login}/trainings"): [
            Probe(
                HIERARCHY,
                f"/api/v1/agents/{target}/trainings",
                {"training": "isu-materiel", "completed_on": "2015-01-01"},
            )
        ],
        # Sessions: anyone may try to log in; logging out needs to be logged in.
        ("POST", "/api/v1/sessions"): [
            Probe(EVERYONE, "/api/v1/sessions", {"login": "r.agent", "password": PASSWORD})
        ],
        ("DELETE", "/api/v1/sessions"): [Probe(AUTHENTICATED, "/api/v1/sessions")],
        ("GET", "/api/v1/audit/events"): [Probe(AUDIT_READERS, "/api/v1/audit/events")],
        ("GET", "/api/v1/agreements"): [Probe(AGENTS, "/api/v1/agreements")],
        ("GET", "/api/v1/agreements/{code}"): [Probe(AGENTS, "/api/v1/agreements/isu-region")],
        # Cases of the joint organisation's activities: workers work them, every agent of a
        # party reads them, managers and directors take part; contributors never.
        ("POST", "/api/v1/cases"): [
            Probe(
                WORKERS,
                "/api/v1/cases",
                {
                    "case_type": "complaint",
                    "payload": {"channel": "mail", "subject": "relevé"},
                    "on": "2016-03-01",
                },
            )
        ],
        ("GET", "/api/v1/cases"): [Probe(AGENTS, "/api/v1/cases?on=2016-03-02")],
        ("GET", "/api/v1/cases/{case_id}"): [Probe(AGENTS, f"/api/v1/cases/{case}?on=2016-03-02")],
        ("POST", "/api/v1/cases/{case_id}/transitions"): [
            Probe(
                WORKERS,
                "/api/v1/cases/{own_case}/transitions",
                {
                    "action": "qualify",
                    "data": {"qualification": "relevé de compte"},
                    "on": "2016-03-02",
                },
            )
        ],
        ("POST", "/api/v1/cases/{case_id}/assignment"): [
            Probe(
                MANAGER,
                "/api/v1/cases/{own_case}/assignment",
                {"agent": None, "on": "2016-03-02"},
            )
        ],
        ("POST", "/api/v1/cases/{case_id}/comments"): [
            Probe(
                WORKERS | {"director"},
                f"/api/v1/cases/{case}/comments",
                {"text": "vu", "on": "2016-03-02"},
            )
        ],
        ("POST", "/api/v1/cases/{case_id}/attachments"): [
            Probe(
                WORKERS | {"director"},
                f"/api/v1/cases/{case}/attachments?on=2016-03-02",
                files={"file": ("lettre.txt", b"Bonjour", "text/plain")},
            )
        ],
        ("GET", "/api/v1/cases/{case_id}/attachments/{attachment_id}"): [
            Probe(AGENTS, f"/api/v1/cases/{case}/attachments/{att}")
        ],
        ("GET", "/api/v1/queues/report"): [Probe(AGENTS, "/api/v1/queues/report?on=2016-03-02")],
        ("GET", "/api/v1/queues/breaches"): [
            Probe(AGENTS, "/api/v1/queues/breaches?on=2016-03-02")
        ],
        # Refunds: a contributor asks for their own, the joint organisation's agents ask and
        # check, the accounting officer alone approves, disburses and reads the SEPA files.
        ("POST", "/api/v1/refunds"): [
            Probe(
                WRITERS | {"contributor"},
                "/api/v1/refunds",
                {"contributor_id": c, "amount": "1.00", "iban": REFUND_IBAN, "on": "2016-03-01"},
            ),
            Probe(
                NOBODY | {"administrator"},
                "/api/v1/refunds",
                {"contributor_id": other, "amount": "1.00", "iban": REFUND_IBAN},
            ),
        ],
        # Payment plans: a contributor asks for their own, the joint organisation's agents ask,
        # examine and decide (R243-21, by the director's delegation); readers in reach.
        ("POST", "/api/v1/payment-plans"): [
            Probe(
                WRITERS | {"contributor"},
                "/api/v1/payment-plans",
                {"contributor_id": c, "months": 0},
            ),
            Probe(
                NOBODY | {"administrator"},
                "/api/v1/payment-plans",
                {"contributor_id": other, "months": 0},
            ),
        ],
        ("GET", "/api/v1/payment-plans"): [Probe(AUTHENTICATED, "/api/v1/payment-plans")],
        ("GET", "/api/v1/payment-plans/{plan_id}"): [
            Probe(AUTHENTICATED, "/api/v1/payment-plans/999999")
        ],
        ("GET", "/api/v1/payment-plans/{plan_id}/letter.pdf"): [
            Probe(AUTHENTICATED, "/api/v1/payment-plans/999999/letter.pdf")
        ],
        ("POST", "/api/v1/payment-plans/{plan_id}/examination"): [
            Probe(WRITERS, "/api/v1/payment-plans/999999/examination", {"on": "2016-03-02"})
        ],
        ("POST", "/api/v1/payment-plans/{plan_id}/grant"): [
            Probe(WRITERS, "/api/v1/payment-plans/999999/grant", {"on": "2016-03-02"})
        ],
        ("POST", "/api/v1/payment-plans/{plan_id}/refusal"): [
            Probe(WRITERS, "/api/v1/payment-plans/999999/refusal", {"reason": "garanties"})
        ],
        # Surcharge remission (R243-20): a contributor asks for their own, the agents ask for
        # them; the director proposes to the appeals board, the director or the board decides.
        ("POST", "/api/v1/remissions"): [
            Probe(
                WRITERS | {"contributor"},
                "/api/v1/remissions",
                {"contributor_id": c, "keys": [REMITTED_KEY], "on": "2016-03-01"},
            ),
            Probe(
                NOBODY | {"administrator"},
                "/api/v1/remissions",
                {"contributor_id": other, "keys": [REMITTED_KEY], "on": "2016-03-01"},
            ),
        ],
        ("GET", "/api/v1/remissions"): [Probe(AUTHENTICATED, "/api/v1/remissions")],
        ("GET", "/api/v1/remissions/{request_id}"): [
            Probe(AUTHENTICATED, "/api/v1/remissions/999999")
        ],
        ("GET", "/api/v1/remissions/{request_id}/letter.pdf"): [
            Probe(AUTHENTICATED, "/api/v1/remissions/999999/letter.pdf")
        ],
        ("POST", "/api/v1/remissions/{request_id}/proposal"): [
            Probe(
                frozenset({"director"}),
                "/api/v1/remissions/999999/proposal",
                {"text": "remise totale proposée", "on": "2016-03-02"},
            )
        ],
        ("POST", "/api/v1/remissions/{request_id}/decision"): [
            Probe(
                frozenset({"director", "appeals_board_member", "administrator"}),
                "/api/v1/remissions/999999/decision",
                {"text": "remise totale accordée", "on": "2016-03-02"},
            )
        ],
        # Write-offs (D243-2): agents propose; the director and the accounting officer approve
        # or reject; agents read the yearly report, a contributor reads their own write-offs.
        ("POST", "/api/v1/write-offs"): [
            Probe(
                WRITERS,
                "/api/v1/write-offs",
                {"contributor_id": c, "keys": [REMITTED_KEY], "grounds": "death"},
            )
        ],
        ("GET", "/api/v1/write-offs"): [Probe(AUTHENTICATED, "/api/v1/write-offs")],
        ("GET", "/api/v1/write-offs/report"): [
            Probe(AGENTS, "/api/v1/write-offs/report?year=2016&format=csv")
        ],
        ("GET", "/api/v1/write-offs/{write_off_id}"): [
            Probe(AUTHENTICATED, "/api/v1/write-offs/999999")
        ],
        ("POST", "/api/v1/write-offs/{write_off_id}/approval"): [
            Probe(APPROVERS, "/api/v1/write-offs/999999/approval", {"on": "2016-03-02"})
        ],
        ("POST", "/api/v1/write-offs/{write_off_id}/rejection"): [
            Probe(
                APPROVERS,
                "/api/v1/write-offs/999999/rejection",
                {"reason": "actif découvert", "on": "2016-03-02"},
            )
        ],
        # Audit plan: drafted and read by the joint organisation's agents and the directors who
        # sign it off; audits started and completed by the collector's agents (their
        # organisation's kind is checked once the audit is found).
        ("GET", "/api/v1/audits/candidates"): [
            Probe(AUDIT_PLANNERS, "/api/v1/audits/candidates?year=2016&on=2016-03-01")
        ],
        ("POST", "/api/v1/audit-plans"): [
            Probe(
                AUDIT_PLANNERS,
                "/api/v1/audit-plans",
                {"year": 2016, "on": "2016-03-01", "contributor_ids": [999999999]},
            )
        ],
        ("GET", "/api/v1/audit-plans/{plan_id}"): [
            Probe(AUDIT_PLANNERS, "/api/v1/audit-plans/999999999")
        ],
        ("POST", "/api/v1/audit-plans/{plan_id}/transitions"): [
            Probe(AUDIT_PLANNERS, "/api/v1/audit-plans/999999999/transitions", {"action": "submit"})
        ],
        ("GET", "/api/v1/audits/{audit_id}"): [Probe(AUDIT_PLANNERS, "/api/v1/audits/999999999")],
        ("POST", "/api/v1/audits/{audit_id}/start"): [
            Probe(WRITERS, "/api/v1/audits/999999999/start", {"on": "2016-03-02"})
        ],
        ("POST", "/api/v1/audits/{audit_id}/results"): [
            Probe(WRITERS, "/api/v1/audits/999999999/results", {"notice_date": "2016-03-02"})
        ],
        # Bank receipts: imported, read and matched by the receipt handlers; never a contributor.
        ("POST", "/api/v1/receipts/imports"): [
            Probe(
                RECEIPT_HANDLERS,
                "/api/v1/receipts/imports",
                files={"file": ("releve.csv", RECEIPTS_CSV, "text/csv")},
            )
        ],
        ("GET", "/api/v1/receipts"): [Probe(RECEIPT_HANDLERS, "/api/v1/receipts?status=suspense")],
        ("POST", "/api/v1/receipts/{receipt_id}/match"): [
            Probe(
                RECEIPT_HANDLERS,
                "/api/v1/receipts/999999999/match",
                {"contributor_id": c, "on": "2016-03-02"},
            )
        ],
        ("GET", "/api/v1/refunds"): [Probe(AUTHENTICATED, "/api/v1/refunds?on=2016-03-02")],
        ("GET", "/api/v1/refunds/{case_id}"): [Probe(AUTHENTICATED, "/api/v1/refunds/999999")],
        ("GET", "/api/v1/refunds/files/{file_id}"): [
            Probe(frozenset({"accounting_officer", "administrator"}), "/api/v1/refunds/files/9")
        ],
        ("POST", "/api/v1/refunds/{case_id}/check"): [
            Probe(WRITERS, "/api/v1/refunds/999999/check", {"on": "2016-03-02"})
        ],
        ("POST", "/api/v1/refunds/{case_id}/approve"): [
            Probe(
                frozenset({"accounting_officer"}),
                "/api/v1/refunds/999999/approve",
                {"on": "2016-03-02"},
            )
        ],
        ("POST", "/api/v1/refunds/{case_id}/disburse"): [
            Probe(
                frozenset({"accounting_officer"}),
                "/api/v1/refunds/999999/disburse",
                {"on": "2016-03-02"},
            )
        ],
        # Amicable collection: debtor lists for the agents authorized on `debtor_lists` (the
        # workers here), phone reminders for those on `phone_reminders` (idem); the
        # phone log read in reach; letters read like the account, a contributor their own.
        ("GET", "/api/v1/collection/debtors"): [Probe(WORKERS, "/api/v1/collection/debtors")],
        ("GET", "/api/v1/collection/debtors.csv"): [
            Probe(WORKERS, "/api/v1/collection/debtors.csv?min_amount=100")
        ],
        ("POST", "/api/v1/collection/phone-reminders"): [
            Probe(
                WORKERS,
                "/api/v1/collection/phone-reminders",
                {"contributor_id": c, "called_on": "2016-03-02", "outcome": "no_answer"},
            )
        ],
        ("GET", "/api/v1/collection/accounts/{contributor_id}/phone-reminders"): [
            Probe(WRITERS, f"/api/v1/collection/accounts/{c}/phone-reminders"),
            Probe(
                NOBODY | {"administrator"}, f"/api/v1/collection/accounts/{other}/phone-reminders"
            ),
        ],
        ("GET", "/api/v1/collection/accounts/{contributor_id}/letters"): [
            Probe(AUTHENTICATED, f"/api/v1/collection/accounts/{c}/letters"),
            Probe(NOBODY | {"administrator"}, f"/api/v1/collection/accounts/{other}/letters"),
        ],
        ("GET", "/api/v1/collection/letters/{document_id}.pdf"): [
            Probe(AUTHENTICATED, "/api/v1/collection/letters/999999999.pdf")
        ],
        ("POST", "/api/v1/queues/absences"): [
            Probe(
                MANAGER,
                "/api/v1/queues/absences",
                {"agent": target, "starts_on": "2026-12-21", "ends_on": "2026-12-24"},
            )
        ],
    }


SIREN, SIRET = "404833048", "40483304800014"
REFUND_IBAN = "FR1420041010050500013M02606"
RECEIPTS_CSV = (
    "bank_reference,booking_date,value_date,amount,currency,debtor_name,debtor_iban,reference\n"
)
REGISTRATION_CSV = (
    b"record_id;action;effective_date;kind;organisation;name;territory;nir;activity;"
    b"activity_start;address;siren;siret;establishment_territory;public_sector\n"
    b"M-001;affiliation;2026-01-05;self_employed;URSSAF-RA;Louise Petit;69;285036912304579;"
    b"craft;2020-01-01;;;;;\n"
)


def _contributor(engine, draft: ContributorDraft) -> int:
    return contributors.create_contributor(engine, SYSTEM, draft, TODAY)["id"]


@pytest.fixture
def region(engine):
    """The two parties of the regional ISU agreement, a Mayotte fund, one agent per role."""
    for code, kind, territory in (
        ("URSSAF-RA", "collector", "69"),
        ("RSI-RA", "self_employed_fund", "69"),
        ("CSSM", "collector", "976"),
    ):
        organisations.create_organisation(engine, SYSTEM, code, code, kind, territory)
    organisations.link_partners(engine, SYSTEM, "URSSAF-RA", "RSI-RA")
    own = _contributor(
        engine,
        ContributorDraft(
            kind=ContributorKind.SELF_EMPLOYED,
            name="Jeanne Martin",
            territory="69",
            organisation_code="URSSAF-RA",
            nir="180017512345660",
            activity=Activity.CRAFT,
            activity_start=date(2015, 3, 1),
        ),
    )
    employer = _contributor(
        engine,
        ContributorDraft(
            kind=ContributorKind.EMPLOYER,
            name="Imprimerie lyonnaise",
            territory="69",
            organisation_code="URSSAF-RA",
            siren=SIREN,
            establishments=(Establishment(SIRET, "69"),),
        ),
    )
    other = _contributor(
        engine,
        ContributorDraft(
            kind=ContributorKind.EMPLOYER,
            name="Boulangerie de Mamoudzou",
            territory="976",
            organisation_code="CSSM",
            siren="732829320",
            establishments=(Establishment("73282932000074", "976"),),
        ),
    )
    for role in ROLES:
        authentication.create_agent(engine, SYSTEM, f"r.{role}", role, "URSSAF-RA", [role])
    authentication.create_agent(
        engine, SYSTEM, "cotisant", "Jeanne Martin", "URSSAF-RA", ["contributor"], own
    )
    sessions.set_password(engine, SYSTEM, "r.agent", PASSWORD)
    tokens = {role: authentication.issue_token(engine, SYSTEM, f"r.{role}") for role in ROLES}
    tokens["contributor"] = authentication.issue_token(engine, SYSTEM, "cotisant")
    tokens["forged"] = "forged-token-value"
    tokens["expired"] = authentication.issue_token(
        engine, SYSTEM, "r.agent", now=datetime.now(UTC) - timedelta(days=100), days=30
    )
    for worker in ("r.agent", "r.joint_unit_agent", "r.manager"):  # the case work of ISU art. 4
        rights.grant(engine, SYSTEM, worker, "complaints", date(2015, 1, 1), training_code=TRAINING)
        rights.record_training(engine, SYSTEM, worker, TRAINING, date(2015, 1, 1))
        for activity in ("debtor_lists", "phone_reminders"):  # amicable collection
            rights.grant(engine, SYSTEM, worker, activity, date(2015, 1, 1))
    case, *own_cases = (
        cases.open_case(
            engine,
            SYSTEM,
            "complaint",
            on=IN_FORCE,
            payload={"channel": "mail", "subject": "relevé"},
            contributor_id=own,
        )["id"]
        for _ in range(1 + len(CALLERS))
    )
    attachment = cases.attach(engine, SYSTEM, case, "lettre.txt", "text/plain", b"Bonjour")["id"]
    grant = rights.grant(engine, SYSTEM, "r.agent", "phone_reminders", date(2015, 1, 1))["id"]
    from recouvrement.services import registration

    imp = registration.import_registration_file(
        engine, SYSTEM, REGISTRATION_CSV, "flux-initial.csv", TODAY
    )["id"]
    own_case = dict(zip(CALLERS, own_cases, strict=True))
    for caller in ("agent", "joint_unit_agent", "agent_session"):  # the assignee moves it on
        login = f"r.{SAME_AS.get(caller, caller)}"
        cases.assign(engine, SYSTEM, own_case[caller], login, on=IN_FORCE)
    ids = {
        "contributor": own,
        "employer": employer,
        "other": other,
        "case": case,
        "attachment": attachment,
        "authorization": grant,
        "import": imp,
        "own_case": own_case,
    }
    return engine, tokens, ids


def _refusals(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(
            select(func.count()).select_from(audit_event).where(audit_event.c.outcome == "refused")
        )


def test_every_route_is_classified_and_every_caller_gets_what_the_table_says(region):
    engine, tokens, ids = region
    app = create_app(engine)
    client = TestClient(app, raise_server_exceptions=False)
    table = _table(ids)
    routes = api_routes(app)
    unclassified = sorted(routes - set(table))
    assert not unclassified, f"routes absentes de la matrice des droits : {unclassified}"

    wrong = []
    session = sessions.login(engine, "r.agent", PASSWORD)[0]
    for (method, route), probes in table.items():
        if (method, route) not in routes:  # a module not installed (routers load optionally)
            continue
        for probe in probes:
            for caller in CALLERS:
                headers = {}
                if caller == "agent_session":
                    client.cookies.set(sessions.COOKIE_NAME, session)
                elif caller != "anonymous":
                    headers = {"Authorization": f"Bearer {tokens[caller]}"}
                before = _refusals(engine)
                url = probe.url.replace("{own_case}", str(ids["own_case"][caller]))
                r = client.request(
                    method,
                    url,
                    headers=headers,
                    json=probe.json,
                    files=probe.files,
                    data=probe.data,
                )
                client.cookies.clear()
                if caller == "agent_session" and (method, route) == ("DELETE", "/api/v1/sessions"):
                    session = sessions.login(engine, "r.agent", PASSWORD)[0]
                denied = r.status_code in (401, 403)
                expected_denied = SAME_AS.get(caller, caller) not in probe.allowed
                if r.status_code >= 500:
                    wrong.append(f"{method} {url} {caller}: erreur serveur {r.status_code}")
                elif denied != expected_denied:
                    wrong.append(f"{method} {url} {caller}: {r.status_code} {r.text[:160]}")
                elif denied and _refusals(engine) == before:
                    wrong.append(f"{method} {url} {caller}: refus non tracé")
    assert not wrong, "\n".join(wrong)
