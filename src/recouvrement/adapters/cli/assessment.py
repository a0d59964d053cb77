"""`recouvrement assess INPUT OUTPUT` and `recouvrement explain`: batch and single-case assessment."""

from __future__ import annotations

from pathlib import Path

import typer

from recouvrement.adapters.files.assessment_files import read_cases, write_results
from recouvrement.domain.assessment.batch import assess_records
from recouvrement.domain.errors import DomainError
from recouvrement.rules.parameters import load_parameters
from recouvrement.services import assessment as assessment_service


def assess(
    input: Path = typer.Argument(..., help="cas à calculer (.jsonl, .csv ou .parquet)"),
    output: Path = typer.Argument(..., help="résultats (.jsonl, .csv ou .parquet)"),
) -> None:
    """Calcule les cotisations de chaque cas ; une ligne de résultat par ligne d'entrée."""
    results = assess_records(load_parameters(), read_cases(input))
    write_results(output, results)
    failed = sum(1 for r in results if "error" in r)
    typer.echo(f"{len(results)} cas calculés, {failed} en erreur → {output}")
    if failed:
        raise typer.Exit(1)


def _render(explanation: dict) -> str:
    out = []
    for line in explanation["lines"]:
        out.append(f"{line['label']} ({line['item']}, attributaire {line['fund']})")
        ceiling = f"{line['ceiling']} €" if line["ceiling"] else "—"
        out.append(f"  assiette : {line['base']} €   plafond : {ceiling}")
        out.append(f"  taux : {line['rate']}   arrondi : {line['rounding']}")
        out.append(f"  montant : {line['amount']} €")
        out.extend(f"  · {d}" for d in line["detail"])
        out.extend(f"  source : {s}" for s in line["sources"])
    out.append(f"Total : {explanation['total']} €")
    return "\n".join(out)


def explain(
    scheme: str = typer.Option(
        "employer_unemployment", help="employer_unemployment ou self_employed"
    ),
    period: str = typer.Option(None, help="mois AAAA-MM (employeurs)"),
    territory: str = typer.Option(None, help="département, ex. 75 ou 976"),
    gross_pay: str = typer.Option(None, help="salaire brut du mois en euros, ex. 2500.00"),
    birth_date: str = typer.Option(None, help="date de naissance du salarié AAAA-MM-JJ"),
    days: int = typer.Option(None, help="jours calendaires de présence si mois incomplet"),
    public_sector: bool = typer.Option(False, help="employeur du secteur public"),
    opt_in: str = typer.Option(None, help="date d'adhésion de l'employeur public AAAA-MM-JJ"),
    year: int = typer.Option(None, help="année (indépendants)"),
    activity: str = typer.Option(None, help="craft ou trade (indépendants)"),
    income: str = typer.Option(None, help="revenu professionnel en euros (indépendants)"),
) -> None:
    """Détaille, pour un cas, l'assiette, le plafond, le taux, l'arrondi et la source de chaque ligne."""
    explanation = assessment_service.explain(
        scheme=scheme,
        period=period,
        territory=territory,
        gross_pay=gross_pay,
        birth_date=birth_date,
        days=days,
        public_sector=public_sector,
        opt_in=opt_in,
        year=year,
        activity=activity,
        income=income,
    )
    typer.echo(_render(explanation))


def declare(
    input: Path = typer.Argument(
        ...,
        help="lignes de déclaration (.jsonl, .csv ou .parquet) : siret, period, nir, "
        "birth_date, gross_pay, days",
    ),
    today: str = typer.Option(
        None, help="date de valeur des écritures AAAA-MM-JJ (défaut : ce jour)"
    ),
) -> None:
    """Enregistre les déclarations de salaires (une par établissement et mois), les calcule et
    passe au compte de l'employeur la dette, ou la différence pour une déclaration rectificative."""
    from datetime import date

    from recouvrement.adapters.db.engine import default_engine
    from recouvrement.domain.actors import system_actor
    from recouvrement.services import payroll

    value_date = date.fromisoformat(today) if today else date.today()
    groups: dict[tuple[str, str], list[dict]] = {}
    for record in read_cases(input):
        if isinstance(record, Exception):
            raise DomainError.single("input", str(record), "bad_line")
        key = (str(record.get("siret") or ""), str(record.get("period") or ""))
        groups.setdefault(key, []).append(record)
    engine = default_engine()
    failed = 0
    for (siret, period), lines in groups.items():
        try:
            result = payroll.declare(
                engine, system_actor(), siret, period, lines, value_date, source=str(input)
            )
        except DomainError as err:
            failed += 1
            typer.secho(f"{siret} {period} : refusée — {err}", fg=typer.colors.RED, err=True)
            continue
        posted = ", ".join(f"{k} {v} €" for k, v in result["posted"].items()) or "rien"
        state = "déjà enregistrée" if result["status"] == "already_declared" else "enregistrée"
        typer.echo(f"{siret} {period} : version {result['version']} {state} ; passé : {posted}")
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("assess")(assess)
    app.command("explain")(explain)
    app.command("declare")(declare)
