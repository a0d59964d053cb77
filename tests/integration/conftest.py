"""A small region to test against: a joint organisation, a Mayotte fund, agents of each."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from recouvrement.domain.actors import Actor, system_actor
from recouvrement.services import authentication, organisations

SYSTEM = system_actor("tests")


@dataclass
class World:
    engine: object
    urssaf_agent: Actor
    rsi_agent: Actor
    cssm_agent: Actor
    outsider: Actor


def build_world(engine) -> World:
    for code, name, kind, territory in (
        ("URSSAF-REG", "URSSAF de la région", "collector", "69"),
        ("RSI-REG", "Caisse régionale RSI de la région", "self_employed_fund", "69"),
        ("CSSM", "Caisse de sécurité sociale de Mayotte", "collector", "976"),
        ("URSSAF-AUTRE", "URSSAF d'une autre région", "collector", "13"),
        ("UNEDIC", "Unédic", "beneficiary_fund", None),
    ):
        organisations.create_organisation(engine, SYSTEM, code, name, kind, territory)
    organisations.link_partners(engine, SYSTEM, "URSSAF-REG", "RSI-REG")
    for login, org, roles in (
        ("agent.urssaf", "URSSAF-REG", ["joint_unit_agent"]),
        ("agent.rsi", "RSI-REG", ["joint_unit_agent"]),
        ("agent.cssm", "CSSM", ["agent"]),
        ("agent.autre", "URSSAF-AUTRE", ["agent"]),
    ):
        authentication.create_agent(engine, SYSTEM, login, login, org, roles)
    a = authentication.actor_for_login
    return World(
        engine,
        a(engine, "agent.urssaf"),
        a(engine, "agent.rsi"),
        a(engine, "agent.cssm"),
        a(engine, "agent.autre"),
    )


@pytest.fixture
def world(engine) -> World:
    return build_world(engine)
