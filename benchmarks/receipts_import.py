"""Receipts benchmark: import a camt.053 of N entries and report receipts per second, by phase.

    python benchmarks/receipts_import.py --entries 100000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/receipts_bench
    python benchmarks/receipts_import.py --entries 20000          # a fresh SQLite file

The database is migrated, then seeded: employers (one per four entries, so most pay several
times in the statement and across batches), each owing three months with their calls. The
statement is deterministic: 90 % transfers quoting the account's RF reference in the structured
field, 4 % typing it in free text (one in four with the call's period: a designation), 4 % without
reference (suspense, a case each), 1 % in US dollars (rejected), and 1 % direct-debit rejects of
earlier direct debits of the same file (reversed). It is written to a temporary file and imported
through `services.receipts.import_statement` as the command line does.

Printed: receipts per second over the whole import, the time of each phase (parse, match,
record, post, finish, cases) and its share, and a re-import of the same file (it must post
nothing). Target (issue 5): 20,000 receipts/s for 1,000,000 entries on PostgreSQL.
Not part of the test suite; the figures go in docs/receipts.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, insert, select, text

from recouvrement.adapters.db import migrate
from recouvrement.adapters.db.call_tables import call
from recouvrement.adapters.db.engine import make_engine
from recouvrement.adapters.db.tables import account, contributor, organisation
from recouvrement.domain.actors import system_actor
from recouvrement.domain.ledger import Cause, Entry, LedgerAccount, Posting
from recouvrement.domain.payment_reference import account_reference, format_reference
from recouvrement.services import receipts
from recouvrement.services.ledger_bulk import post_entries_bulk

TARGET = 20_000
ACTOR = system_actor("benchmark")
BANK_IBAN = "FR7630006000011234567890189"
DEBTOR_IBAN = "FR1420041010050500013M02606"
PERIODS = (
    ("2016-01", date(2016, 2, 15)),
    ("2016-02", date(2016, 3, 15)),
    ("2016-03", date(2016, 4, 15)),
)
DAY0 = date(2016, 3, 1)
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


class ServerCpu:
    """CPU seconds of this engine's PostgreSQL backends, read from /proc (same machine only): on a
    shared machine wall-clock follows the others' load, CPU seconds much less."""

    def __init__(self, engine):
        self.pids: set[int] = set()
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_conn, _record) -> None:
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            self.pids.add(cur.fetchone()[0])

    def seconds(self) -> float:
        total = 0
        for pid in self.pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a backend closed since, or a server on another machine
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")


def seed(engine, employers: int) -> int:
    """Employers owing three months each, with their calls; returns the first contributor id."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        first = (conn.scalar(select(func.max(contributor.c.id))) or 0) + 1
        orgs = dict(conn.execute(select(organisation.c.code, organisation.c.id)).all())
        for code, name, kind in (
            ("URSSAF-RA", "URSSAF de la région", "collector"),
            ("RSI-RA", "Caisse régionale RSI", "self_employed_fund"),
        ):
            if code not in orgs:
                orgs[code] = conn.execute(
                    insert(organisation).values(code=code, name=name, kind=kind, territory="69")
                ).inserted_primary_key[0]
        ids = range(first, first + employers)
        for k in range(0, employers, 5000):
            chunk = ids[k : k + 5000]
            conn.execute(
                insert(contributor),
                [
                    {
                        "id": i,
                        "kind": "employer",
                        "name": f"Employeur {i}",
                        "organisation_id": orgs["URSSAF-RA"],
                        "territory": "69",
                        "siren": f"{i:09d}",
                        "address": "",
                        "public_sector": False,
                        "status": "active",
                        "created_at": now,
                    }
                    for i in chunk
                ],
            )
            conn.execute(insert(account), [{"contributor_id": i, "opened_on": DAY0} for i in chunk])
            conn.execute(
                insert(call),
                [
                    {
                        "contributor_id": i,
                        "period": period,
                        "kind": "employer_monthly",
                        "reference": f"{account_reference(i)} {period}",
                        "issue_date": due.replace(day=1),
                        "due_date": due,
                        "amount": 100_000,
                        "status": "issued",
                        "created_at": now,
                    }
                    for i in chunk
                    for period, due in PERIODS
                ],
            )
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('contributor_id_seq', :n)"), {"n": first + employers})
    receivable, revenue = LedgerAccount.RECEIVABLE.value, LedgerAccount.FUND_REVENUE.value
    debts = (
        Entry(
            f"bench-decl:{i}:{period}",
            due.replace(day=5),
            Cause.DECLARATION.value,
            (
                Posting(receivable, i, "unedic", "unemployment_employer", period, 100_000),
                Posting(revenue, None, "unedic", "unemployment_employer", period, -100_000),
            ),
        )
        for i in ids
        for period, due in PERIODS
    )
    post_entries_bulk(engine, ACTOR, debts)
    return first


def _ntry(n: int, amount: int, currency: str, cdi: str, day: date, tx: str) -> str:
    return (
        f'<Ntry><Amt Ccy="{currency}">{amount // 100}.{amount % 100:02d}</Amt>'
        f"<CdtDbtInd>{cdi}</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt>"
        f"<ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>BNK{n:010d}</AcctSvcrRef>"
        f"<NtryDtls><TxDtls>{tx}</TxDtls></NtryDtls></Ntry>\n"
    )


def write_statement(path: Path, n: int, first: int, employers: int) -> None:
    """n entries, deterministic (see the module docstring)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NS}"><BkToCstmrStmt>'
            "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2016-03-31T20:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>BENCH-{n}</Id><Acct><Id><IBAN>{BANK_IBAN}</IBAN></Id></Acct>\n"
        )
        debits: list[tuple[int, int]] = []  # (entry number, amount) of direct debits to reject
        for i in range(n):
            cid = first + (i * 7919) % employers
            day = DAY0 + timedelta(days=(i * 30) // n)
            amount = 20_000 + (i * 3_7131) % 200_000
            ref = account_reference(cid)
            party = (
                f"<RltdPties><Dbtr><Nm>Employeur {cid}</Nm></Dbtr>"
                f"<DbtrAcct><Id><IBAN>{DEBTOR_IBAN}</IBAN></Id></DbtrAcct></RltdPties>"
            )
            kind = i % 100
            if kind < 90:
                tx = (
                    f"<Refs><EndToEndId>E2E{i:010d}</EndToEndId></Refs>{party}<RmtInf><Strd>"
                    f"<CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd></RmtInf>"
                )
                if kind % 9 == 0:
                    debits.append((i, amount))
                out.write(_ntry(i, amount, "EUR", "CRDT", day, tx))
            elif kind < 94:
                period = f" {PERIODS[i % 3][0]}" if kind == 90 else ""
                tx = (
                    f"<Refs><EndToEndId>E2E{i:010d}</EndToEndId></Refs>{party}"
                    f"<RmtInf><Ustrd>cotisations {format_reference(ref)}{period}</Ustrd></RmtInf>"
                )
                out.write(_ntry(i, amount, "EUR", "CRDT", day, tx))
            elif kind < 98:
                tx = f"{party}<RmtInf><Ustrd>virement {i}</Ustrd></RmtInf>"
                out.write(_ntry(i, amount, "EUR", "CRDT", day, tx))
            elif kind < 99:
                out.write(
                    _ntry(i, amount, "USD", "CRDT", day, f"<RmtInf><Ustrd>{ref}</Ustrd></RmtInf>")
                )
            else:
                original, original_amount = debits.pop(0) if debits else (i, amount)
                tx = (
                    f"<Refs><EndToEndId>E2E{original:010d}</EndToEndId></Refs>"
                    "<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf>"
                )
                out.write(_ntry(i, original_amount, "EUR", "DBIT", day, tx))
        out.write("</Stmt></BkToCstmrStmt></Document>\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="défaut : un fichier SQLite neuf")
    parser.add_argument("--batch-size", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/receipts.db"
        migrate.upgrade(url)
        engine = make_engine(url)
        server = ServerCpu(engine)
        employers = max(1, args.entries // 4)
        start = time.perf_counter()
        first = seed(engine, employers)
        print(
            f"Base : {engine.dialect.name}, {employers} employeurs créés en {time.perf_counter() - start:.1f} s"
        )
        path = Path(tmp) / "releve.xml"
        start = time.perf_counter()
        write_statement(path, args.entries, first, employers)
        size = os.path.getsize(path) / 1e6
        print(
            f"Relevé : {args.entries} écritures, {size:.0f} Mo, écrit en {time.perf_counter() - start:.1f} s"
        )

        start, cpu, server_cpu = time.perf_counter(), time.process_time(), server.seconds()
        report = receipts.import_statement(engine, ACTOR, path, batch_size=args.batch_size)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        server_cpu = server.seconds() - server_cpu
        rate = report["transactions"] / elapsed
        print(
            f"Import : {report['transactions']} opérations en {elapsed:.1f} s, "
            f"{rate:,.0f} encaissements/s (objectif {TARGET:,}/s) ; "
            f"CPU de ce processus {cpu:.1f} s, charge {os.getloadavg()[0]:.1f}".replace(",", " ")
        )
        n = report["transactions"]
        print(
            f"  CPU par encaissement : client {1e6 * cpu / n:.0f} µs, "
            f"serveur PostgreSQL {1e6 * server_cpu / n:.0f} µs (backends de ce moteur) ; "
            f"plafond CPU sur 2 cœurs ≈ {n / max(cpu, server_cpu, (cpu + server_cpu) / 2):,.0f}/s".replace(
                ",", " "
            )
        )
        print(
            f"  affectés {report['allocated']}, en attente {report['suspense']}, "
            f"rejets de prélèvement {report['returned']}, refusés {report['rejected']}, "
            f"écritures {report['entries_posted']}, dossiers {report['cases'].get('opened', 0)}"
        )
        timings, cpu_by_phase = report["timings"], report["cpu"]
        print("  phase     temps   part   CPU (ce processus, tous fils)")
        for phase in ("parse", "match", "record", "post", "finish", "cases"):
            seconds = timings.get(phase, 0.0)
            print(
                f"  {phase:<7} {seconds:7.2f} s {100 * seconds / timings['total']:5.1f} % "
                f"{cpu_by_phase.get(phase, 0.0):7.2f} s"
            )
        start = time.perf_counter()
        again = receipts.import_statement(engine, ACTOR, path, batch_size=args.batch_size)
        print(
            f"Réimport : {again['already_imported']} déjà importées, "
            f"{again['entries_posted']} écritures, en {time.perf_counter() - start:.1f} s"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
