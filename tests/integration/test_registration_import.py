"""Registration-flow imports through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from stdnum import luhn
from stdnum.fr import nir as stdnum_nir

from recouvrement.adapters.db.tables import (
    account,
    audit_event,
    contributor,
    establishment,
    metadata,
    registration_applied,
    registration_import,
    registration_reject,
)
from recouvrement.domain.actors import Actor, Role
from recouvrement.domain.errors import DomainError, Forbidden, NotFound
from recouvrement.services import registration

from .conftest import SYSTEM

TODAY = date(2026, 11, 24)
DATA = Path(__file__).parent.parent / "data" / "registration"
HEADER = (
    "record_id;action;effective_date;kind;organisation;name;territory;nir;activity;activity_start"
)


def snapshot(engine) -> dict:
    """Row counts of every table, and the contributors' content, to prove a replay changes nothing."""
    with engine.connect() as conn:
        counts = {
            t.name: conn.scalar(select(func.count()).select_from(t)) for t in metadata.sorted_tables
        }
        people = conn.execute(
            select(
                contributor.c.id,
                contributor.c.name,
                contributor.c.address,
                contributor.c.territory,
                contributor.c.activity,
                contributor.c.status,
                contributor.c.activity_end,
            ).order_by(contributor.c.id)
        ).all()
        sites = conn.execute(
            select(
                establishment.c.siret, establishment.c.contributor_id, establishment.c.territory
            ).order_by(establishment.c.siret)
        ).all()
    return {"counts": counts, "contributors": people, "establishments": sites}


def by_line(report) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for r in report["rejects"]:
        out.setdefault(r["line"], []).append((r["field"], r["code"]))
    return out


def contributor_row(engine, **where):
    with engine.connect() as conn:
        query = select(contributor)
        for key, value in where.items():
            query = query.where(contributor.c[key] == value)
        return conn.execute(query).mappings().one()


def test_mixed_csv_applies_the_good_records_and_keeps_each_bad_one(world):
    report = registration.import_registration_file(
        world.engine, world.urssaf_agent, DATA / "mixed.csv", today=TODAY
    )
    assert (report["records"], report["applied"], report["rejected"]) == (12, 3, 9)
    assert report["already_applied"] == 0 and report["replay"] is False
    assert by_line(report) == {
        3: [("organisation", "forbidden")],
        4: [("nir", "bad_checksum")],
        5: [("territory", "unknown_territory")],
        7: [("nir", "unknown_contributor")],
        8: [("effective_date", "bad_dates")],
        9: [("nir", "duplicate")],
        11: [("record_id", "duplicate_record")],
        12: [("action", "unknown_value")],
        13: [("", "bad_columns")],
    }
    assert all(r["reason"] and r["status"] == "open" for r in report["rejects"])
    assert report["rejects"][0]["record"]["organisation"] == "CSSM"
    jeanne = contributor_row(world.engine, nir="180017512345660")
    assert jeanne["address"] == "2 place Bellecour; Lyon" and jeanne["status"] == "active"
    lea = contributor_row(world.engine, nir="275011305507780")
    assert lea["activity_start"] == date(2018, 9, 1) and lea["activity"] == "trade"
    with world.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(account)) == 2
        assert conn.scalar(select(func.count()).select_from(registration_applied)) == 3
        assert conn.scalar(select(func.count()).select_from(registration_reject)) == 9
        actions = conn.execute(
            select(audit_event.c.action, func.count())
            .where(audit_event.c.action.like("registration.%"))
            .group_by(audit_event.c.action)
        ).all()
    assert dict(actions) == {
        "registration.affiliation": 2,
        "registration.change": 1,
        "registration.import": 1,
    }


def test_replaying_the_same_file_changes_nothing_and_gives_the_earlier_report(world):
    first = registration.import_registration_file(
        world.engine, world.urssaf_agent, DATA / "mixed.csv", today=TODAY
    )
    before = snapshot(world.engine)
    again = registration.import_registration_file(
        world.engine, world.rsi_agent, (DATA / "mixed.csv").read_bytes(), "copie.csv", TODAY
    )
    assert snapshot(world.engine) == before
    assert again["replay"] is True and again["id"] == first["id"]
    assert again["rejects"] == first["rejects"]
    assert again["file_name"] == "mixed.csv"


def test_records_applied_by_an_earlier_file_are_skipped_and_reported(world):
    registration.import_registration_file(
        world.engine, world.urssaf_agent, DATA / "mixed.csv", today=TODAY
    )
    before = snapshot(world.engine)
    resent = (
        HEADER + "\n"
        "A-001;affiliation;2026-01-05;self_employed;URSSAF-REG;Autre nom;69;"
        "180017512345660;craft;2015-03-01\n"
        "A-006;affiliation;2026-01-05;self_employed;RSI-REG;Léa Moreau;69;"
        "275011305507780;trade;2018-09-01\n"
    )
    report = registration.import_registration_file(
        world.engine, world.urssaf_agent, resent.encode(), "renvoi.csv", TODAY
    )
    assert (report["applied"], report["rejected"], report["already_applied"]) == (0, 0, 2)
    assert report["already_applied_records"] == [
        {"line": 2, "record_id": "A-001"},
        {"line": 3, "record_id": "A-006"},
    ]
    after = snapshot(world.engine)
    assert after["contributors"] == before["contributors"]
    assert after["counts"]["registration_import"] == before["counts"]["registration_import"] + 1
    assert (
        registration.get_import(world.engine, world.urssaf_agent, report["id"])["already_applied"]
        == 2
    )


def test_a_corrected_record_is_applied_after_its_reject(world):
    bad = (
        HEADER
        + "\nR-1;affiliation;2026-01-05;self_employed;URSSAF-REG;Paul;69;180017512345661;trade;2019-06-01\n"
    )
    good = bad.replace("180017512345661", "180017512345660")
    first = registration.import_registration_file(
        world.engine, world.urssaf_agent, bad.encode(), "j1.csv", TODAY
    )
    second = registration.import_registration_file(
        world.engine, world.urssaf_agent, good.encode(), "j2.csv", TODAY
    )
    assert (first["rejected"], second["applied"]) == (1, 1)


def test_jsonl_with_a_malformed_line_rejects_only_that_line(world):
    report = registration.import_registration_file(
        world.engine, world.urssaf_agent, DATA / "mixed.jsonl", today=TODAY
    )
    assert report["format"] == "jsonl"
    assert (report["records"], report["applied"], report["rejected"]) == (8, 3, 5)
    assert by_line(report) == {
        2: [("", "bad_json")],
        4: [("siret", "siret_siren_mismatch")],
        6: [("", "already_deregistered")],
        7: [("", "not_an_object")],
        9: [("sirett", "unknown_field"), ("siret", "required")],
    }
    garage = contributor_row(world.engine, siren="404833048")
    assert garage["status"] == "deregistered" and garage["activity_end"] == date(2026, 6, 30)
    with world.engine.connect() as conn:
        sites = conn.execute(
            select(establishment.c.siret, establishment.c.territory)
            .where(establishment.c.contributor_id == garage["id"])
            .order_by(establishment.c.siret)
        ).all()
    assert [tuple(s) for s in sites] == [("40483304800014", "69"), ("40483304800022", "976")]
    bad_json = next(r for r in report["rejects"] if r["line"] == 2)
    assert bad_json["record"]["raw"].startswith('{"record_id": "E-002"')


def test_a_failing_record_never_half_applies(world):
    registration.import_registration_file(
        world.engine, world.urssaf_agent, DATA / "mixed.jsonl", today=TODAY
    )
    # A new employer, then a change that renames it and adds a SIRET that is already taken:
    # the rename must not survive the SIRET conflict.
    flow = (
        '{"record_id": "M-1", "action": "affiliation", "effective_date": "2026-01-05", '
        '"kind": "employer", "organisation": "URSSAF-REG", "name": "Menuiserie", '
        '"territory": "69", "siren": "552100554", "siret": "55210055400013"}\n'
        '{"record_id": "M-2", "action": "change", "effective_date": "2026-02-01", '
        '"kind": "employer", "siren": "552100554", "name": "Nouveau nom", '
        '"siret": "55210055400013"}\n'
    )
    report = registration.import_registration_file(
        world.engine, world.urssaf_agent, flow.encode(), "m.jsonl", TODAY
    )
    assert by_line(report) == {2: [("siret", "duplicate")]}
    assert contributor_row(world.engine, siren="552100554")["name"] == "Menuiserie"
    with world.engine.connect() as conn:
        changes = conn.scalar(
            select(func.count())
            .select_from(audit_event)
            .where(audit_event.c.action == "registration.change")
        )
    assert changes == 1  # E-003 of mixed.jsonl only


def test_semicolon_and_comma_csv_give_the_same_result(world):
    rows = [
        "R-1;affiliation;2026-01-05;self_employed;URSSAF-REG;Jeanne Martin;69;180017512345660;craft;2015-03-01",
        "R-2;affiliation;2026-01-05;self_employed;RSI-REG;Léa Moreau;69;275011305507780;trade;2018-09-01",
    ]
    semicolon = "\n".join([HEADER, *rows]) + "\n"
    comma = semicolon.replace(";", ",").replace("R-", "S-")
    first = registration.import_registration_file(
        world.engine, world.urssaf_agent, semicolon.encode(), "pv.csv", TODAY
    )
    assert first["applied"] == 2
    second = registration.import_registration_file(
        world.engine, world.urssaf_agent, comma.encode(), "v.csv", TODAY
    )
    # Same people under new record ids: each is a reject for an identifier already registered.
    assert by_line(second) == {2: [("nir", "duplicate")], 3: [("nir", "duplicate")]}


def test_a_latin1_file_is_refused_naming_the_line_unless_its_encoding_is_given(world):
    text = (
        HEADER + "\n"
        "R-1;affiliation;2026-01-05;self_employed;URSSAF-REG;Jeanne Martin;69;180017512345660;craft;2015-03-01\n"
        "R-2;affiliation;2026-01-05;self_employed;RSI-REG;Léa Moreau;69;275011305507780;trade;2018-09-01\n"
    )
    data = text.encode("latin-1")
    before = snapshot(world.engine)
    with pytest.raises(DomainError) as err:
        registration.import_registration_file(
            world.engine, world.urssaf_agent, data, "latin1.csv", TODAY
        )
    problem = err.value.problems[0]
    assert problem.field == "file" and problem.code == "bad_encoding"
    assert "ligne 3" in problem.reason and "--encoding" in problem.reason
    assert snapshot(world.engine) == before
    report = registration.import_registration_file(
        world.engine, world.urssaf_agent, data, "latin1.csv", TODAY, encoding="latin-1"
    )
    assert report["applied"] == 2
    assert contributor_row(world.engine, nir="275011305507780")["name"] == "Léa Moreau"


def test_a_bom_at_the_start_of_a_utf8_file_is_tolerated(world):
    text = (
        HEADER + "\n"
        "R-1;affiliation;2026-01-05;self_employed;URSSAF-REG;Éloïse;69;180017512345660;craft;2015-03-01\n"
    )
    report = registration.import_registration_file(
        world.engine, world.urssaf_agent, b"\xef\xbb\xbf" + text.encode(), "bom.csv", TODAY
    )
    assert report["applied"] == 1


@pytest.mark.parametrize(
    "content, code",
    [
        (b"", "empty_file"),
        (b"\n  \n", "empty_file"),
        (HEADER.encode() + b"\n", "no_records"),
        (b"record_id;action;kind\nR;affiliation;employer\n", "bad_header"),
        (
            b"record_id;action;effective_date;kind;sirett\nR;change;2026-01-01;employer;1\n",
            "bad_header",
        ),
        (HEADER.encode() + b'\n"R-1;affiliation\n', "bad_csv"),
    ],
)
def test_a_file_refused_as_a_whole_records_nothing(world, content, code):
    before = snapshot(world.engine)
    with pytest.raises(DomainError) as err:
        registration.import_registration_file(
            world.engine, world.urssaf_agent, content, "f.csv", TODAY
        )
    assert err.value.problems[0].code == code
    assert snapshot(world.engine) == before


def test_an_unreadable_path_is_a_clear_refusal(world, tmp_path):
    with pytest.raises(DomainError) as err:
        registration.import_registration_file(
            world.engine, world.urssaf_agent, tmp_path / "absent.csv", today=TODAY
        )
    assert err.value.problems[0].code == "unreadable"


def test_an_actor_without_the_import_right_is_refused(world):
    director = Actor(
        "directeur",
        world.urssaf_agent.organisation_id,
        "URSSAF-REG",
        frozenset({Role.DIRECTOR}),
        reachable_organisation_ids=world.urssaf_agent.reachable_organisation_ids,
    )
    before = snapshot(world.engine)
    with pytest.raises(Forbidden):
        registration.import_registration_file(
            world.engine, director, DATA / "mixed.csv", today=TODAY
        )
    assert snapshot(world.engine) == before


def test_records_outside_the_agents_reach_are_rejected_one_by_one(world):
    registration.import_registration_file(
        world.engine, world.urssaf_agent, DATA / "mixed.csv", today=TODAY
    )
    flow = (
        HEADER + ";address\n"
        "O-1;change;2026-03-01;self_employed;;;;180017512345660;;;3 rue Neuve\n"
        "O-2;affiliation;2026-01-05;self_employed;URSSAF-REG;Paul;69;285036912304579;trade;2019-06-01;\n"
        "O-3;affiliation;2026-01-05;self_employed;URSSAF-AUTRE;Paul;13;285036912304579;trade;2019-06-01;\n"
    )
    report = registration.import_registration_file(
        world.engine, world.outsider, flow.encode(), "autre.csv", TODAY
    )
    assert by_line(report) == {
        2: [("organisation", "forbidden")],
        3: [("organisation", "forbidden")],
    }
    assert report["applied"] == 1
    assert contributor_row(world.engine, nir="180017512345660")["address"] != "3 rue Neuve"


def test_deregistration_in_the_future_or_of_an_unknown_contributor_is_rejected(world):
    registration.import_registration_file(
        world.engine, world.urssaf_agent, DATA / "mixed.csv", today=TODAY
    )
    flow = (
        "record_id,action,effective_date,kind,nir\n"
        "D-1,deregistration,2027-01-01,self_employed,180017512345660\n"
        "D-2,deregistration,2026-01-01,self_employed,285036912304579\n"
        "D-3,deregistration,2026-10-31,self_employed,180017512345660\n"
    )
    report = registration.import_registration_file(
        world.engine, world.urssaf_agent, flow.encode(), "radiations.csv", TODAY
    )
    assert by_line(report) == {
        2: [("effective_date", "future_date")],
        3: [("nir", "unknown_contributor")],
    }
    jeanne = contributor_row(world.engine, nir="180017512345660")
    assert (jeanne["status"], jeanne["activity_end"]) == ("deregistered", date(2026, 10, 31))


def test_rejects_are_listed_for_the_joint_organisation_only(world):
    report = registration.import_registration_file(
        world.engine, world.urssaf_agent, DATA / "mixed.csv", today=TODAY
    )
    page = registration.list_rejects(world.engine, world.rsi_agent, limit=4)
    assert page["total"] == 9 and len(page["items"]) == 4 and page["next"]
    seen = [r["id"] for r in page["items"]]
    while page["next"]:
        page = registration.list_rejects(
            world.engine, world.rsi_agent, limit=4, after=int(page["next"])
        )
        seen += [r["id"] for r in page["items"]]
    assert len(set(seen)) == 9
    assert registration.list_rejects(world.engine, world.outsider)["total"] == 0
    assert registration.list_rejects(world.engine, SYSTEM, status="closed")["total"] == 0
    with pytest.raises(NotFound):
        registration.get_import(world.engine, world.outsider, report["id"])
    assert registration.get_import(world.engine, world.rsi_agent, report["id"])["rejected"] == 9


def test_imports_made_by_the_system_are_visible_to_every_agent_who_works_rejects(world):
    registration.import_registration_file(world.engine, SYSTEM, DATA / "mixed.csv", today=TODAY)
    assert registration.list_rejects(world.engine, world.cssm_agent)["total"] == 8
    with world.engine.connect() as conn:
        assert conn.scalar(select(registration_import.c.applied)) == 4


# --- Replays, as a property -------------------------------------------------------------------

_namespaces = itertools.count()


def _identities(n: int) -> dict:
    """Valid identifiers that no other example uses, so each example starts from its own state."""
    nirs = []
    for i in range(3):
        body = f"1800175{n * 3 + i:06d}"
        nirs.append(body + stdnum_nir.calc_check_digits(body))
    sirens = []
    for i in range(2):
        body = f"{10_000_000 + n * 2 + i:08d}"
        sirens.append(body + luhn.calc_check_digit(body))
    sirets = {
        s: [s + nic + luhn.calc_check_digit(s + nic) for nic in ("0001", "0002")] for s in sirens
    }
    return {"nir": nirs, "siren": sirens, "siret": sirets}


# Mostly valid values (valid first: hypothesis favours early choices), a few invalid ones.
record_shapes = st.fixed_dictionaries(
    {
        "rid": st.integers(0, 5),
        "action": st.sampled_from(["affiliation"] * 3 + ["change"] * 2 + ["deregistration", "x"]),
        "kind": st.sampled_from(["self_employed", "employer"]),
        "who": st.sampled_from([0, 1, 2] * 3 + [3]),  # 3 = an identifier with a wrong key
        "site": st.integers(0, 1),
        "date": st.sampled_from(["2026-01-05", "2026-06-30"] * 3 + ["2014-01-01", "2027-01-01"]),
        "org": st.sampled_from(["URSSAF-REG"] * 4 + ["RSI-REG"] * 2 + ["CSSM", "INCONNU", ""]),
        "name": st.sampled_from(["Jeanne Martin", "Nouveau nom", "Léa Moreau", ""]),
        "territory": st.sampled_from(["69", "976"] * 3 + ["", "977"]),
        "activity": st.sampled_from(["craft", "trade"] * 2 + [""]),
    }
)
files_strategy = st.lists(
    st.tuples(
        st.sampled_from(["csv;", "csv,", "jsonl"]),
        st.lists(record_shapes, min_size=2, max_size=8),
    ),
    min_size=1,
    max_size=4,
)


def _record(n: int, ids: dict, shape: dict) -> dict:
    employer = shape["kind"] == "employer"
    values = {
        "record_id": f"P{n}-{shape['rid']}",
        "action": shape["action"],
        "effective_date": shape["date"],
        "kind": shape["kind"],
        "organisation": shape["org"] if shape["action"] == "affiliation" else "",
        "name": shape["name"],
        "territory": shape["territory"],
    }
    if employer:
        siren = ids["siren"][shape["who"] % 2]
        values["siren"] = siren if shape["who"] < 3 else siren[:-1] + str(9 - int(siren[-1]))
        if shape["action"] != "deregistration":
            values["siret"] = ids["siret"][siren][shape["site"]]
    else:
        nir = ids["nir"][shape["who"] % 3]
        values["nir"] = nir if shape["who"] < 3 else nir[:-2] + "00"
        if shape["action"] != "deregistration":
            values["activity"] = shape["activity"]
        if shape["action"] == "affiliation":
            values["activity_start"] = "2015-03-01"
    if shape["action"] == "deregistration":
        values.pop("name"), values.pop("territory")
    return values


def _serialise(fmt: str, records: list[dict]) -> bytes:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    out = io.StringIO()
    columns = sorted({key for r in records for key in r} | {"record_id", "action", "kind"})
    writer = csv.DictWriter(out, columns, delimiter=fmt[-1], restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=files_strategy, data=st.data())
def test_any_replay_of_the_same_files_changes_nothing(world, files, data):
    n = next(_namespaces)
    ids = _identities(n)
    actor = data.draw(st.sampled_from([SYSTEM, world.urssaf_agent]), label="actor")
    contents = [
        _serialise(fmt, [_record(n, ids, shape) for shape in shapes]) for fmt, shapes in files
    ]
    first = [
        registration.import_registration_file(world.engine, actor, c, f"f{i}", TODAY)
        for i, c in enumerate(contents)
    ]
    for report in first:
        assert (
            report["applied"] + report["rejected"] + report["already_applied"] == report["records"]
        )
    event("some records applied" if any(r["applied"] for r in first) else "nothing applied")
    before = snapshot(world.engine)
    order = data.draw(
        st.lists(st.integers(0, len(contents) - 1), min_size=1, max_size=6), label="replays"
    )
    for i in order:
        again = registration.import_registration_file(
            world.engine, world.rsi_agent, contents[i], f"replay{i}", TODAY
        )
        assert again["replay"] is True
        assert again["id"] in {r["id"] for r in first}
    assert snapshot(world.engine) == before


def test_a_contributor_cannot_be_affiliated_to_a_beneficiary_fund(world):
    flow = (
        HEADER + "\n"
        "U-1;affiliation;2026-01-05;self_employed;UNEDIC;Paul;69;285036912304579;trade;2019-06-01\n"
        "U-2;affiliation;2026-01-05;self_employed;NULLE-PART;Paul;69;285036912304579;trade;2019-06-01\n"
    )
    report = registration.import_registration_file(
        world.engine, SYSTEM, flow.encode(), "u.csv", TODAY
    )
    assert by_line(report) == {
        2: [("organisation", "not_a_collector")],
        3: [("organisation", "not_found")],
    }
