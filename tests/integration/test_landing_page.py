"""The page a person sees when opening the service's address: what it is, where to go, what it holds."""

from __future__ import annotations

from fastapi.testclient import TestClient

from recouvrement.adapters.api import create_app
from recouvrement.domain.demo_region import RegionSize
from recouvrement.services import demo

from .conftest import SYSTEM


def test_an_empty_database_says_how_to_load_the_demo(engine):
    page = TestClient(create_app(engine)).get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "aucun organisme" in page.text
    assert "recouvrement demo load" in page.text
    for link in ('href="/docs"', 'href="/openapi.json"', 'href="/health"'):
        assert link in page.text


def test_a_loaded_region_shows_its_organisations_and_counts(engine):
    demo.load_region(engine, SYSTEM, seed=41, size=RegionSize(1200, 7, 2))
    page = TestClient(create_app(engine)).get("/")
    assert page.status_code == 200
    for text in (
        "URSSAF Rhône-Alpes",
        "Caisse régionale RSI Rhône-Alpes",
        "Caisse de sécurité sociale de Mayotte",
        "Unédic",
        "Pôle emploi",
        "graine 41",
        "1\u202f200",  # self-employed of the URSSAF, grouped the French way
        "1\u202f209 cotisants au total",
    ):
        assert text in page.text
    assert "aucun organisme" not in page.text


def test_the_summary_counts_contributors_and_employees_per_organisation(engine):
    demo.load_region(engine, SYSTEM, seed=3, size=RegionSize(10, 4, 2))
    summary = demo.region_summary(engine)
    by_code = {o["code"]: o for o in summary["organisations"]}
    assert (by_code["URSSAF-RA"]["self_employed"], by_code["URSSAF-RA"]["employers"]) == (10, 2)
    assert (by_code["CSSM"]["self_employed"], by_code["CSSM"]["employers"]) == (0, 4)
    assert by_code["CSSM"]["employees"] >= 4
    assert by_code["UNEDIC"]["employers"] == 0
    assert summary["contributors"] == 16
    assert summary["demo_load"]["seed"] == 3


def test_the_landing_page_is_not_part_of_the_api_description(engine):
    schema = TestClient(create_app(engine)).get("/openapi.json").json()
    assert "/" not in schema["paths"]
