"""Contributors through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from recouvrement.adapters.db.tables import account, audit_event, contributor
from recouvrement.domain.contributors import (
    Activity,
    ContributorDraft,
    ContributorKind,
    Establishment,
)
from recouvrement.domain.errors import Conflict, DomainError, Forbidden
from recouvrement.services import contributors

TODAY = date(2026, 11, 24)
NIR = "180017512345660"
SIREN = "732829320"
SIRET = "73282932000074"


def craftsman(nir=NIR, org="URSSAF-REG", **kw):
    return ContributorDraft(
        kind=ContributorKind.SELF_EMPLOYED,
        name="Jeanne Martin",
        territory="69",
        organisation_code=org,
        nir=nir,
        activity=Activity.CRAFT,
        activity_start=date(2015, 3, 1),
        **kw,
    )


def employer(siren=SIREN, siret=SIRET, org="CSSM"):
    return ContributorDraft(
        kind=ContributorKind.EMPLOYER,
        name="Boulangerie de Mamoudzou",
        territory="976",
        organisation_code=org,
        siren=siren,
        establishments=(Establishment(siret, "976", "Siège"),),
    )


def test_each_contributor_gets_exactly_one_account(world):
    c = contributors.create_contributor(world.engine, world.urssaf_agent, craftsman(), TODAY)
    e = contributors.create_contributor(world.engine, world.cssm_agent, employer(), TODAY)
    with world.engine.connect() as conn:
        n = conn.scalar(select(func.count()).select_from(account))
        assert n == 2
        assert (
            conn.scalar(
                select(func.count())
                .select_from(audit_event)
                .where(audit_event.c.action == "contributor.create")
            )
            == 2
        )
    assert c["account"]["id"] != e["account"]["id"]
    assert e["establishments"][0]["territory"] == "976"


def test_partner_agent_reaches_the_joint_files_but_an_outsider_does_not(world):
    c = contributors.create_contributor(world.engine, world.urssaf_agent, craftsman(), TODAY)
    assert contributors.get_contributor(world.engine, world.rsi_agent, c["id"])["nir"] == NIR
    with pytest.raises(Forbidden):
        contributors.get_contributor(world.engine, world.outsider, c["id"])
    with pytest.raises(Forbidden):
        contributors.get_contributor(world.engine, world.cssm_agent, c["id"])
    assert contributors.list_contributors(world.engine, world.outsider)["total"] == 0


@pytest.mark.parametrize(
    "draft, field",
    [
        (craftsman(nir="180017512345661"), "nir"),
        (craftsman(nir="12"), "nir"),
        (employer(siren="732829321"), "siren"),
        (employer(siret="73282932000075"), "establishments[0].siret"),
        (replace(craftsman(), territory="977"), "territory"),
        (replace(craftsman(), activity_end=date(2010, 1, 1)), "activity_end"),
    ],
)
def test_invalid_identifiers_are_refused_and_nothing_is_stored(world, draft, field):
    actor = world.cssm_agent if draft.kind is ContributorKind.EMPLOYER else world.urssaf_agent
    with pytest.raises(DomainError) as err:
        contributors.create_contributor(world.engine, actor, draft, TODAY)
    assert field in [p.field for p in err.value.problems]
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(contributor)) == 0


def test_duplicate_nir_is_a_conflict(world):
    contributors.create_contributor(world.engine, world.urssaf_agent, craftsman(), TODAY)
    with pytest.raises(Conflict):
        contributors.create_contributor(world.engine, world.urssaf_agent, craftsman(), TODAY)


def test_listing_pages_with_a_cursor(world):
    from stdnum.fr import nir as nir_mod

    for i in range(7):
        body = f"18001751234{i:02d}"
        contributors.create_contributor(
            world.engine,
            world.urssaf_agent,
            craftsman(nir=body + nir_mod.calc_check_digits(body)),
            TODAY,
        )
    page = contributors.list_contributors(world.engine, world.rsi_agent, limit=3)
    assert page["total"] == 7 and len(page["items"]) == 3 and page["next"]
    seen = [c["id"] for c in page["items"]]
    while page["next"]:
        page = contributors.list_contributors(
            world.engine, world.rsi_agent, limit=3, after=int(page["next"])
        )
        seen += [c["id"] for c in page["items"]]
    assert len(seen) == len(set(seen)) == 7
