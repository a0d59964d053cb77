"""Who acts, for which organisation, with which rights.

Every service takes an Actor and asks this module before touching data: an agent reaches the
contributors of their own organisation and of its partners in a joint organisation (ISU agreement
art. 6, reciprocal access); a contributor reaches only their own account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from recouvrement.domain.errors import Forbidden, Problem


class Role(StrEnum):
    AGENT = "agent"
    JOINT_UNIT_AGENT = "joint_unit_agent"
    MANAGER = "manager"
    DIRECTOR = "director"
    ACCOUNTING_OFFICER = "accounting_officer"
    AUDITOR = "auditor"
    APPEALS_BOARD_MEMBER = "appeals_board_member"
    CONTRIBUTOR = "contributor"
    ADMINISTRATOR = "administrator"
    SYSTEM = "system"


class Permission(StrEnum):
    CONTRIBUTORS_READ = "contributors.read"
    CONTRIBUTORS_WRITE = "contributors.write"
    REGISTRATION_IMPORT = "registration.import"
    LEDGER_READ = "ledger.read"
    LEDGER_POST = "ledger.post"
    ORGANISATIONS_WRITE = "organisations.write"
    CYCLE_RUN = "cycle.run"  # administrator and system only (they hold every permission)
    CALLS_READ = "calls.read"
    EXEMPTIONS_ENTER = "exemptions.enter"
    EXEMPTIONS_CHECK = "exemptions.check"
    REFUNDS_REQUEST = "refunds.request"
    REFUNDS_CHECK = "refunds.check"
    REFUNDS_APPROVE = "refunds.approve"
    RECEIPTS_IMPORT = "receipts.import"
    RECEIPTS_READ = "receipts.read"
    RECEIPTS_MATCH = "receipts.match"
    SURCHARGES_APPLY = "surcharges.apply"
    REMISSION_REQUEST = "remission.request"
    REMISSION_DECIDE = "remission.decide"
    WRITE_OFFS_PROPOSE = "write_offs.propose"
    WRITE_OFFS_APPROVE = "write_offs.approve"
    COLLECTION_READ = "collection.read"
    COLLECTION_REMIND = "collection.remind"
    PAYMENT_PLANS_REQUEST = "payment_plans.request"
    PAYMENT_PLANS_DECIDE = "payment_plans.decide"
    LEGACY_IMPORT = "legacy.import"
    AUDITS_PLAN = "audits.plan"
    AUDITS_PERFORM = "audits.perform"


_AGENT_BASE = {Permission.CONTRIBUTORS_READ, Permission.LEDGER_READ, Permission.CALLS_READ}
# Exemptions: entered by one agent, checked by another (four-eyes, services/exemptions.py).
_EXEMPTIONS = {Permission.EXEMPTIONS_ENTER, Permission.EXEMPTIONS_CHECK}
# Refunds (ISU agreement art. 4): the joint organisation's agents request and check them, the
# accounting officer approves and disburses (services/refunds.py); a contributor requests their own.
_REFUNDS = {Permission.REFUNDS_REQUEST, Permission.REFUNDS_CHECK}
# Bank receipts (services/receipts.py): imported, read and matched by the collector's agents and
# accounting officer, never by a contributor.
_RECEIPTS = {Permission.RECEIPTS_IMPORT, Permission.RECEIPTS_READ, Permission.RECEIPTS_MATCH}
# Surcharges decided outside the daily cycle (self-employed under-estimate, services/surcharges.py).
_SURCHARGES = {Permission.SURCHARGES_APPLY}
# Remission requests (R243-20) and write-off proposals (D243-2) are prepared by agents; the director
# decides a remission up to the threshold, the appeals board above it; the director and the
# accounting officer approve write-offs (services/remission.py, services/write_offs.py).
_COLLECTION = {
    Permission.REMISSION_REQUEST,
    Permission.WRITE_OFFS_PROPOSE,
    # Debtor lists and phone reminders (ISU agreement art. 4, services/debtor_lists.py).
    Permission.COLLECTION_READ,
    Permission.COLLECTION_REMIND,
}
# Payment plans (CSS R243-21, services/payment_plans.py): the joint organisation's agents examine
# and decide by the director's delegation; a contributor asks for their own.
_PLANS = {Permission.PAYMENT_PLANS_REQUEST, Permission.PAYMENT_PLANS_DECIDE}
# The CACM's debt stock is imported by the collector's agents and accounting officer
# (services/legacy_stock.py); the audit plan is drafted by the joint organisation's agents and
# carried out by the collector's (services/audit_plan.py; directors sign it off as a case).
_AUDITS = {Permission.AUDITS_PLAN, Permission.AUDITS_PERFORM, Permission.LEGACY_IMPORT}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.AGENT: frozenset(
        _AGENT_BASE
        | _EXEMPTIONS
        | _REFUNDS
        | _RECEIPTS
        | _SURCHARGES
        | _COLLECTION
        | _PLANS
        | _AUDITS
        | {Permission.CONTRIBUTORS_WRITE, Permission.REGISTRATION_IMPORT}
    ),
    Role.JOINT_UNIT_AGENT: frozenset(
        _AGENT_BASE
        | _EXEMPTIONS
        | _REFUNDS
        | _RECEIPTS
        | _SURCHARGES
        | _COLLECTION
        | _PLANS
        | _AUDITS
        | {Permission.CONTRIBUTORS_WRITE, Permission.REGISTRATION_IMPORT}
    ),
    Role.MANAGER: frozenset(
        _AGENT_BASE
        | _EXEMPTIONS
        | _REFUNDS
        | _RECEIPTS
        | _SURCHARGES
        | _COLLECTION
        | _PLANS
        | _AUDITS
        | {Permission.CONTRIBUTORS_WRITE, Permission.REGISTRATION_IMPORT}
    ),
    Role.DIRECTOR: frozenset(
        _AGENT_BASE
        | {Permission.REMISSION_DECIDE, Permission.WRITE_OFFS_APPROVE, Permission.AUDITS_PLAN}
    ),
    Role.ACCOUNTING_OFFICER: frozenset(
        _AGENT_BASE
        | _RECEIPTS
        | {Permission.LEDGER_POST, Permission.REFUNDS_APPROVE, Permission.WRITE_OFFS_APPROVE}
        | {Permission.LEGACY_IMPORT}
    ),
    Role.AUDITOR: frozenset(_AGENT_BASE),
    Role.APPEALS_BOARD_MEMBER: frozenset(_AGENT_BASE | {Permission.REMISSION_DECIDE}),
    Role.CONTRIBUTOR: frozenset(
        {
            Permission.CONTRIBUTORS_READ,
            Permission.LEDGER_READ,
            Permission.CALLS_READ,
            Permission.REFUNDS_REQUEST,
            Permission.REMISSION_REQUEST,
            Permission.PAYMENT_PLANS_REQUEST,
        }
    ),
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.SYSTEM: frozenset(Permission),
}


@dataclass(frozen=True)
class Actor:
    """The person or process behind a request.

    Attributes:
        login: stable identifier written to the audit trail.
        organisation_id: home organisation (None only for the system actor).
        roles: what the actor may do.
        contributor_id: set when the actor is a contributor using their own portal.
        reachable_organisation_ids: home organisation and its joint-organisation partners.
    """

    login: str
    organisation_id: int | None
    organisation_code: str | None
    roles: frozenset[Role]
    contributor_id: int | None = None
    reachable_organisation_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_system(self) -> bool:
        return Role.SYSTEM in self.roles

    @property
    def is_contributor(self) -> bool:
        return Role.CONTRIBUTOR in self.roles and not self.is_system

    def permissions(self) -> frozenset[Permission]:
        out: set[Permission] = set()
        for role in self.roles:
            out |= ROLE_PERMISSIONS.get(role, frozenset())
        return frozenset(out)


def system_actor(login: str = "système") -> Actor:
    """The batch and command-line operator, acting for no single organisation."""
    return Actor(
        login=login, organisation_id=None, organisation_code=None, roles=frozenset({Role.SYSTEM})
    )


def require(actor: Actor, permission: Permission) -> None:
    if permission not in actor.permissions():
        raise Forbidden(
            Problem(
                "",
                f"action non autorisée pour {actor.login} : "
                f"habilitation {permission.value} manquante",
                "forbidden",
            )
        )


def may_reach_contributor(actor: Actor, contributor_id: int, organisation_id: int) -> bool:
    if actor.is_system or Role.ADMINISTRATOR in actor.roles:
        return True
    if actor.is_contributor:
        return actor.contributor_id == contributor_id
    return organisation_id in actor.reachable_organisation_ids


def require_contributor(actor: Actor, contributor_id: int, organisation_id: int) -> None:
    if not may_reach_contributor(actor, contributor_id, organisation_id):
        raise Forbidden(
            Problem("contributor_id", "ce compte cotisant n'est pas accessible", "forbidden")
        )
