"""Demo authorizations follow who runs each activity in the shipped agreements."""

from __future__ import annotations

from collections import defaultdict

from recouvrement.agreements.loader import shipped_agreements
from recouvrement.domain.demo_region import RegionSize, generate_region
from recouvrement.services.demo_rights import JOINT_TRAINING, demo_grants


def grants_by_login():
    region = generate_region(2013, RegionSize(5, 2, 1))
    grants = demo_grants(region.agents, shipped_agreements().agreements.values())
    out = defaultdict(dict)
    for g in grants:
        out[g.login][g.activity] = g
    return region, grants, out


def test_joint_activities_go_to_the_joint_unit_of_both_parties_with_the_training():
    _, _, by_login = grants_by_login()
    for login in ("urssaf-ra.cellule-mixte-1", "rsi-ra.cellule-mixte-3", "rsi-ra.cadre-isu"):
        g = by_login[login]["phone_reminders"]
        assert g.agreement == "isu-region" and g.training == JOINT_TRAINING
        assert g.granted_by == login.split(".")[0] + ".directeur"


def test_a_role_named_by_the_agreement_is_the_only_one_granted_the_activity():
    _, grants, _ = grants_by_login()
    holders = {g.login for g in grants if g.activity == "refund_disbursement"}
    assert holders == {"urssaf-ra.agent-comptable"}


def test_party_activities_stay_with_that_party():
    _, grants, by_login = grants_by_login()
    assert {g.login.split(".")[0] for g in grants if g.activity == "unemployment_collection"} == {
        "cssm"
    }
    assert "audit_plan_execution" in by_login["urssaf-ra.inspecteur"]
    assert "audit_plan_execution" not in by_login["rsi-ra.cellule-mixte-1"]
    assert "transfers" in by_login["acoss.agent-comptable"]


def test_directors_appeals_board_members_and_contributors_get_no_grant_and_nobody_grants_themselves():
    region, grants, by_login = grants_by_login()
    for a in region.agents:
        if set(a.roles) & {"director", "appeals_board_member", "contributor"}:
            assert a.login not in by_login
    assert all(g.login != g.granted_by for g in grants)
    assert len({(g.login, g.activity) for g in grants}) == len(grants)
