"""A region with the two parties of the ISU agreement (isu-region), their agents, managers and
directors, and an agent of an organisation outside the agreement."""

from __future__ import annotations

from datetime import date

from recouvrement.domain.cases import ACTIVITY
from recouvrement.services import authentication, organisations
from recouvrement.services import authorizations as rights

from .conftest import SYSTEM

ON = date(2015, 3, 2)  # a Monday, the ISU agreement in force
AGREEMENT_START = date(2014, 1, 15)
TRAINING = "isu-operations-communes"  # the art. 3 training the steering committee set
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

    def grant_case_work(self, logins=None, activities=None, valid_to=None, trained=True):
        """Authorize the parties' agents and managers on the case activities, with the art. 3
        training completed, as their director would (ISU agreement art. 3 and 6)."""
        workers = {
            login: org
            for login, org, roles in TEAM
            if org in ("URSSAF-RA", "RSI-RA") and "director" not in roles
        }
        for login in logins or workers:
            director = self["dir." + _short(workers[login])]
            for activity in activities or sorted(set(ACTIVITY.values())):
                rights.grant(
                    self.engine,
                    director,
                    login,
                    activity,
                    AGREEMENT_START,
                    valid_to,
                    training_code=TRAINING,
                )
            if trained:
                self.train(login)

    def train(self, login, completed_on=AGREEMENT_START, expires_on=None):
        org = dict((lg, o) for lg, o, _ in TEAM)[login]
        rights.record_training(
            self.engine,
            self["dir." + _short(org)],
            login,
            TRAINING,
            completed_on,
            expires_on,
        )

    def __getitem__(self, login):
        return authentication.actor_for_login(self.engine, login)


def _short(organisation_code):
    return organisation_code.split("-")[0].lower()
