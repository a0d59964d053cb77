"""What `make run` does, in real processes: migrate, load the demo region, serve, call the API.

Every command runs with the temporary directory as its working directory, as `make run` runs in the
checkout: the SQLite file and the tokens file land under its `var/`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

COMMAND = str(Path(sys.executable).parent / "recouvrement")
STARTUP_LIMIT_SECONDS = 60


def run(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [COMMAND, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_tokens(path: Path) -> dict[str, str]:
    rows = [line.split("\t") for line in path.read_text().splitlines() if not line.startswith("#")]
    return {login: token for login, _org, _roles, token in rows}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("run")
    database = home / "e2e.db"
    env = {**os.environ, "RECOUVREMENT_DATABASE_URL": f"sqlite:///{database}"}
    run(["db", "upgrade"], home, env)
    loaded = run(["demo", "load", "--self-employed", "50", "--employers", "5"], home, env)
    assert "var/demo-tokens.txt" in loaded.stdout
    again = run(["demo", "load", "--if-empty"], home, env)
    assert "non chargée" in again.stdout

    port = free_port()
    log = (home / "serve.log").open("w")
    server = subprocess.Popen(
        [COMMAND, "serve", "--port", str(port)],
        cwd=home,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"le serveur s'est arrêté : {(home / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"le serveur ne répond pas : {(home / 'serve.log').read_text()}")
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as client:
            yield client, read_tokens(home / "var" / "demo-tokens.txt")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def all_pages(client: httpx.Client, token: str, **params) -> tuple[list[dict], int]:
    """Every item of a listing, following `next`; checks the page shape on the way."""
    items: list[dict] = []
    after = None
    while True:
        query = {"limit": 5, **params, **({"after": after} if after else {})}
        page = client.get("/api/v1/contributors", params=query, headers=bearer(token))
        assert page.status_code == 200, page.text
        body = page.json()
        assert set(body) == {"items", "total", "next"}
        assert len(body["items"]) <= 5
        items += body["items"]
        after = body["next"]
        if after is None:
            assert len(items) == body["total"]
            return items, body["total"]


def test_health_and_landing_page(served):
    client, _ = served
    assert client.get("/health").json()["status"] == "ok"
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for text in ("Caisse de sécurité sociale de Mayotte", "/openapi.json", "/docs", "graine 2013"):
        assert text in page.text


def test_first_page_has_the_listing_shape(served):
    client, tokens = served
    page = client.get(
        "/api/v1/contributors",
        params={"limit": 5},
        headers=bearer(tokens["rsi-ra.cellule-mixte-1"]),
    )
    assert page.status_code == 200
    body = page.json()
    assert set(body) == {"items", "total", "next"}
    assert len(body["items"]) == 5 and body["next"] is not None
    assert client.get("/api/v1/contributors", params={"limit": 5}).status_code == 401


def test_a_cssm_agent_sees_only_mayotte_employers(served):
    client, tokens = served
    items, total = all_pages(client, tokens["cssm.agent-1"])
    assert total == 5
    assert {(c["kind"], c["territory"], c["organisation"]) for c in items} == {
        ("employer", "976", "CSSM")
    }


def test_a_joint_unit_agent_of_either_party_sees_the_self_employed(served):
    client, tokens = served
    for login in ("urssaf-ra.cellule-mixte-1", "rsi-ra.cellule-mixte-2"):
        items, total = all_pages(client, tokens[login], kind="self_employed")
        assert total == 50
        assert {c["organisation"] for c in items} == {"URSSAF-RA"}
        everything, _ = all_pages(client, tokens[login])
        assert not any(c["territory"] == "976" for c in everything)


def test_a_contributor_sees_only_their_own_account(served):
    client, tokens = served
    items, total = all_pages(client, tokens["cotisant.ti-1"])
    assert total == 1 and items[0]["kind"] == "self_employed"
    own = client.get(
        f"/api/v1/contributors/{items[0]['id']}", headers=bearer(tokens["cotisant.ti-1"])
    )
    assert own.status_code == 200 and own.json()["account"]["id"]
    mayotte, _ = all_pages(client, tokens["cssm.agent-1"])
    other = client.get(
        f"/api/v1/contributors/{mayotte[0]['id']}", headers=bearer(tokens["cotisant.ti-1"])
    )
    assert other.status_code == 403
    assert other.json()["errors"][0]["field"] == "contributor_id"
