"""Agreements as data: the shipped texts load, amendments prevail, bad files are named."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from recouvrement.adapters.cli import app
from recouvrement.agreements.loader import (
    AgreementError,
    AgreementRegistry,
    parse_agreement,
    shipped_agreements,
)
from recouvrement.agreements.model import JOINT

BASE = """
agreement:
  code: base
  title: Base
  kind: agreement
  valid_from: 2011-01-01
  time_zone: Europe/Paris
  parties:
    - {organisation: A, role: collector, name: Organisme A}
    - {organisation: B, role: self_employed_fund, name: Organisme B}
  activities:
    - {code: complaints, label: Réclamations, run_by: joint, article: art. 4,
       commitment: {deadline_business_days: 15, start: complaint_received, pauses: [waiting]}}
  settings:
    transfers.mode: {value: monthly, source: base art. 7}
    statistics.frequency: {value: quarterly, source: base annexe 3}
"""


def amendment(**over):
    fields = {
        "code": "amend",
        "kind": "amendment",
        "amends": "base",
        "run_by": "A",
        "iban": "FR7630006000011234567890189",
        "tz": "Europe/Paris",
    } | over
    return f"""
agreement:
  code: {fields["code"]}
  title: Avenant
  kind: {fields["kind"]}
  amends: {fields["amends"]}
  valid_from: 2013-01-01
  time_zone: {fields["tz"]}
  parties:
    - {{organisation: A, role: collector, name: Organisme A}}
  activities:
    - {{code: transfers, label: Reversement, run_by: {fields["run_by"]}, article: art. 5}}
  settings:
    transfers.mode: {{value: annual_advance, source: avenant art. 5}}
  annexes:
    annex_1: {{title: RIB, iban: {fields["iban"]}}}
"""


def registry(*texts):
    agreements = {}
    for i, t in enumerate(texts):
        a = parse_agreement(t, f"f{i}.yaml")
        agreements[a.code] = a
    return AgreementRegistry(agreements)


def test_the_amendment_prevails_and_the_rest_of_the_agreement_stays_in_force():
    r = registry(BASE, amendment()).resolve("amend", date(2014, 1, 1))
    assert r.settings["transfers.mode"].value == "annual_advance"
    assert r.settings["transfers.mode"].origin == "amend"
    assert r.settings["transfers.mode"].overrides.value == "monthly"
    assert r.settings["statistics.frequency"].origin == "base"
    assert set(r.activities) == {"complaints", "transfers"}
    assert r.activities["complaints"][0].commitment.deadline_business_days == 15


@pytest.mark.parametrize(
    "over, message",
    [
        ({"run_by": "Z"}, "run_by"),
        ({"iban": "FR7630006000011234567890180"}, "IBAN invalide"),
        ({"tz": "Europe/Nowhere"}, "fuseau inconnu"),
        ({"kind": "treaty"}, "kind"),
    ],
)
def test_bad_agreement_files_are_refused_with_the_path_of_the_mistake(over, message):
    with pytest.raises(AgreementError) as err:
        parse_agreement(amendment(**over), "avenant.yaml")
    assert message in str(err.value) and "avenant.yaml" in str(err.value)


def test_an_amendment_of_an_unknown_agreement_is_refused():
    with pytest.raises(AgreementError, match="convention inconnue"):
        registry(amendment(amends="nowhere"))


def test_missing_fields_are_named():
    with pytest.raises(AgreementError, match="« parties » obligatoire"):
        parse_agreement(BASE.replace("  parties:", "  people:"), "base.yaml")


def test_an_agreement_out_of_force_is_not_resolved():
    with pytest.raises(AgreementError, match="pas en vigueur"):
        shipped_agreements().resolve("isu-region", date(2018, 1, 1))


def test_shipped_isu_agreement_says_who_does_what():
    r = shipped_agreements().resolve("isu-region", date(2015, 6, 1))
    runs = {code: act.run_by for code, (act, _origin) in r.activities.items()}
    assert runs["complaints"] == JOINT
    assert runs["registration_flow_rejects"] == JOINT
    assert runs["beneficiary_affiliation"] != JOINT  # affiliation stays with the RSI fund
    refund = r.activities["refund_disbursement"][0]
    assert refund.run_by != JOINT and refund.role == "accounting_officer"
    assert refund.commitment is not None  # outside the joint unit, yet under a commitment
    assert r.annexes["reception_desks"][0]


def test_shipped_mayotte_amendment_keeps_the_2010_convention_where_silent():
    r = shipped_agreements().resolve("unedic-mayotte", date(2014, 1, 1))
    assert r.settings["scope.territories"].origin == "unedic-mayotte"
    assert r.settings["statistics.frequency"].origin == "unedic-2010"
    assert r.setting("transfers.regularisation.due_within_business_days") == 10
    assert r.setting("audits.first_year") == 2014
    assert r.agreement.time_zone == "Europe/Paris"


def test_show_command_prints_who_does_what_and_origins():
    result = CliRunner().invoke(app, ["agreements", "show", "unedic-mayotte"])
    assert result.exit_code == 0, result.output
    assert "prévaut sur unedic-2010" in result.output
    assert "Caisse de sécurité sociale de Mayotte" in result.output
    result = CliRunner().invoke(app, ["agreements", "show", "isu-region", "--on", "2015-01-01"])
    assert "organisation commune" in result.output
    result = CliRunner().invoke(app, ["agreements", "show", "inconnue"])
    assert result.exit_code == 2 and "convention inconnue" in result.output


REGIONAL_AMENDMENT = """
agreement:
  code: isu-region-avenant-1
  title: Avenant n° 1 à la convention régionale ISU
  kind: amendment
  amends: isu-region
  valid_from: 2015-01-01
  valid_to: 2017-12-31
  time_zone: Europe/Paris
  parties:
    - {organisation: RSI-RA, role: self_employed_fund, name: Caisse régionale RSI}
    - {organisation: URSSAF-RA, role: collector, name: URSSAF}
  activities:
    - {code: complaints, label: Réception et traitement des réclamations, run_by: joint, article: avenant art. 1,
       commitment: {deadline_business_days: 10, start: complaint_received, source: avenant n° 1}}
"""


@pytest.fixture
def local_agreements(tmp_path, monkeypatch):
    monkeypatch.setenv("RECOUVREMENT_AGREEMENTS_DIR", str(tmp_path / "agreements"))
    shipped_agreements.cache_clear()
    yield tmp_path / "agreements"
    shipped_agreements.cache_clear()


def test_a_loaded_amendment_joins_the_shipped_agreements(local_agreements, tmp_path):
    path = tmp_path / "avenant.yaml"
    path.write_text(REGIONAL_AMENDMENT, encoding="utf-8")
    result = CliRunner().invoke(app, ["agreements", "load", str(path)])
    assert result.exit_code == 0, result.output
    r = shipped_agreements().resolve("isu-region-avenant-1", date(2016, 1, 1))
    complaints = r.activities["complaints"]
    assert complaints[1] == "isu-region-avenant-1"
    assert complaints[0].commitment.deadline_business_days == 10
    assert r.activities["debtor_lists"][1] == "isu-region"  # the rest stays in force


@pytest.mark.parametrize(
    "text, message",
    [
        (REGIONAL_AMENDMENT.replace("isu-region-avenant-1", "isu-region"), "convention livrée"),
        (REGIONAL_AMENDMENT.replace("amends: isu-region", "amends: nulle-part"), "inconnue"),
        (REGIONAL_AMENDMENT.replace("run_by: joint", "run_by: CSSM"), "run_by"),
    ],
)
def test_a_bad_agreement_file_is_refused_and_nothing_is_kept(
    local_agreements, tmp_path, text, message
):
    path = tmp_path / "avenant.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["agreements", "load", str(path)])
    assert result.exit_code == 2 and message in result.output
    assert not local_agreements.exists() or not list(local_agreements.glob("*.yaml"))
