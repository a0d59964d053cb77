"""A region with the two parties of the ISU agreement (isu-region), their agents, managers and
directors, and an agent of an organisation outside the agreement."""

from __future__ import annotations

from datetime import date

from recouvrement.services import authentication, organisations

from .conftest import SYSTEM

ON = date(2015, 3, 2)  # a Monday, the ISU agreement in force
TEAM = (
    ("ura.1", "URSSAF-RA", ["joint_unit_agent"]),
    ("ura.2", "URSSAF-RA", ["joint_unit_agent"]),
    ("rsi.1", "RSI-RA", ["joint_unit_agent"]),
    ("rsi.2", "RSI-RA", ["joint_unit_agent"]),
    ("resp.urssaf", "URSSAF-RA", ["manager"]),
    ("resp.rsi", "RSI-RA", ["manager"]),
    ("dir.urssaf", "URSSAF-RA", ["director"]),
    ("dir.rsi", "RSI-RA", ["director"]),
    ("agent.cssm", "CSSM", ["agent"]),
)


class Region:
    def __init__(self, engine):
        self.engine = engine
        for code, name, kind in (
            ("URSSAF-RA", "URSSAF de la région", "collector"),
            ("RSI-RA", "Caisse régionale RSI", "self_employed_fund"),
            ("CSSM", "Caisse de sécurité sociale de Mayotte", "collector"),
        ):
            organisations.create_organisation(
                engine, SYSTEM, code, name, kind, "976" if code == "CSSM" else "69"
            )
        organisations.link_partners(engine, SYSTEM, "URSSAF-RA", "RSI-RA")
        for login, org, roles in TEAM:
            authentication.create_agent(engine, SYSTEM, login, login, org, roles)

    def __getitem__(self, login):
        return authentication.actor_for_login(self.engine, login)
