"""Agreement files (YAML) are validated on load; a mistake is reported with the file and the path.

The format is documented in docs/agreements.md.
"""

from __future__ import annotations

import os
from datetime import date
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from recouvrement.agreements.model import (
    JOINT,
    Activity,
    Agreement,
    Commitment,
    Party,
    ResolvedAgreement,
    ResolvedSetting,
    Setting,
    Target,
)

DATA_DIR = Path(__file__).parent / "data"
KINDS = ("agreement", "amendment")


class AgreementError(ValueError):
    """An agreement file is wrong, or an agreement asked for is unknown or not in force."""


def _require(mapping: dict, key: str, where: str, kind: type | tuple = str):
    if not isinstance(mapping, dict) or key not in mapping or mapping[key] in (None, ""):
        raise AgreementError(f"{where} : champ « {key} » obligatoire")
    value = mapping[key]
    if not isinstance(value, kind):
        raise AgreementError(f"{where} › {key} : type inattendu ({type(value).__name__})")
    return value


def _date(value, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise AgreementError(f"{where} : date invalide {value!r} (attendu AAAA-MM-JJ)") from None


def _commitment(raw, where: str) -> Commitment | None:
    if raw is None:
        return None
    days = _require(raw, "deadline_business_days", where, int)
    if days <= 0:
        raise AgreementError(f"{where} › deadline_business_days : nombre de jours ouvrés > 0")
    pauses = raw.get("pauses", [])
    if not isinstance(pauses, list):
        raise AgreementError(f"{where} › pauses : liste d'événements attendue")
    return Commitment(
        days, _require(raw, "start", where), tuple(pauses), str(raw.get("source", ""))
    )


def parse_agreement(text: str, origin: str) -> Agreement:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise AgreementError(f"{origin} : YAML illisible ({err})") from None
    root = _require(
        {"agreement": data.get("agreement") if isinstance(data, dict) else None},
        "agreement",
        origin,
        dict,
    )
    where = origin
    kind = _require(root, "kind", where)
    if kind not in KINDS:
        raise AgreementError(f"{where} › kind : « agreement » ou « amendment », lu {kind!r}")
    amends = root.get("amends")
    if kind == "amendment" and not amends:
        raise AgreementError(f"{where} › amends : un avenant nomme la convention qu'il modifie")
    tz = _require(root, "time_zone", where)
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise AgreementError(f"{where} › time_zone : fuseau inconnu {tz!r}") from None
    parties = []
    for i, p in enumerate(_require(root, "parties", where, list)):
        w = f"{where} › parties[{i}]"
        parties.append(
            Party(
                _require(p, "organisation", w),
                _require(p, "role", w),
                _require(p, "name", w),
                tuple(p.get("representatives", [])),
            )
        )
    party_codes = {p.organisation for p in parties}
    if len(party_codes) != len(parties):
        raise AgreementError(f"{where} › parties : organisme en double")
    activities = []
    for i, a in enumerate(root.get("activities", []) or []):
        w = f"{where} › activities[{i}]"
        run_by = _require(a, "run_by", w)
        if run_by != JOINT and run_by not in party_codes:
            raise AgreementError(
                f"{w} › run_by : « joint » ou le code d'une partie ({', '.join(sorted(party_codes))}),"
                f" lu {run_by!r}"
            )
        activities.append(
            Activity(
                code=_require(a, "code", w),
                label=_require(a, "label", w),
                run_by=run_by,
                article=_require(a, "article", w),
                role=a.get("role"),
                commitment=_commitment(a.get("commitment"), f"{w} › commitment"),
                note=str(a.get("note", "")),
            )
        )
    codes = [a.code for a in activities]
    if len(codes) != len(set(codes)):
        raise AgreementError(f"{where} › activities : code d'activité en double")
    targets = tuple(
        Target(
            _require(t, "indicator", f"{where} › targets[{i}]"),
            _require(t, "label", f"{where} › targets[{i}]"),
            str(_require(t, "target", f"{where} › targets[{i}]", (str, int, float))),
            _require(t, "source", f"{where} › targets[{i}]"),
        )
        for i, t in enumerate(root.get("targets", []) or [])
    )
    settings = []
    for key, spec in (root.get("settings") or {}).items():
        w = f"{where} › settings › {key}"
        if not isinstance(spec, dict) or "value" not in spec:
            raise AgreementError(f"{w} : « value » et « source » attendus")
        settings.append(Setting(key, spec["value"], _require(spec, "source", w)))
    valid_from = _date(_require(root, "valid_from", where, (str, date)), f"{where} › valid_from")
    valid_to = _date(root.get("valid_to"), f"{where} › valid_to")
    if valid_to is not None and valid_to < valid_from:
        raise AgreementError(f"{where} › valid_to : avant valid_from")
    annexes = root.get("annexes") or {}
    if not isinstance(annexes, dict):
        raise AgreementError(f"{where} › annexes : table nom → contenu attendue")
    for name, content in annexes.items():
        _check_bank_details(content, f"{where} › annexes › {name}")
    return Agreement(
        code=_require(root, "code", where),
        title=_require(root, "title", where),
        kind=kind,
        text=str(root.get("text", "")),
        signed_on=_date(root.get("signed_on"), where),
        valid_from=valid_from,
        valid_to=valid_to,
        amends=amends,
        time_zone=tz,
        parties=tuple(parties),
        activities=tuple(activities),
        targets=targets,
        settings=tuple(settings),
        annexes=dict(annexes),
    )


def _check_bank_details(content, where: str) -> None:
    """Bank accounts of the annexes are checked with schwifty: a transfer to a mistyped IBAN
    would leave the collector's account and never reach the fund."""
    if not isinstance(content, dict):
        return
    if "iban" in content:
        try:
            IBAN(str(content["iban"]))
        except SchwiftyException as err:
            raise AgreementError(f"{where} › iban : IBAN invalide ({err})") from None
    if "bic" in content:
        try:
            BIC(str(content["bic"]))
        except SchwiftyException as err:
            raise AgreementError(f"{where} › bic : BIC invalide ({err})") from None


class AgreementRegistry:
    def __init__(self, agreements: dict[str, Agreement]):
        self.agreements = agreements
        for a in agreements.values():
            if a.amends and a.amends not in agreements:
                raise AgreementError(f"{a.code} modifie {a.amends}, convention inconnue")
        for a in agreements.values():  # no cycle of amendments
            seen, cur = set(), a
            while cur.amends:
                if cur.code in seen:
                    raise AgreementError(f"{a.code} : cycle d'avenants")
                seen.add(cur.code)
                cur = agreements[cur.amends]

    def get(self, code: str) -> Agreement:
        try:
            return self.agreements[code]
        except KeyError:
            known = ", ".join(sorted(self.agreements))
            raise AgreementError(f"convention inconnue : {code!r} (connues : {known})") from None

    def resolve(self, code: str, on: date | None = None) -> ResolvedAgreement:
        """The agreement with its amended agreements, the amendment prevailing on conflicts."""
        agreement = self.get(code)
        on = on or agreement.valid_from
        if not agreement.in_force(on):
            raise AgreementError(f"{code} n'est pas en vigueur le {on.isoformat()}")
        chain = [agreement]
        while chain[-1].amends:
            chain.append(self.get(chain[-1].amends))
        settings: dict[str, ResolvedSetting] = {}
        activities: dict = {}
        annexes: dict = {}
        for a in reversed(chain):  # outermost first, so the amendment overwrites
            for s in a.settings:
                settings[s.key] = ResolvedSetting(
                    s.key, s.value, s.source, a.code, overrides=settings.get(s.key)
                )
            for act in a.activities:
                activities[act.code] = (act, a.code)
            for name, content in a.annexes.items():
                annexes[name] = (content, a.code)
        return ResolvedAgreement(agreement, tuple(chain), on, settings, activities, annexes)


def load_directory(*directories: Path) -> AgreementRegistry:
    agreements: dict[str, Agreement] = {}
    for directory in directories:
        for path in sorted(directory.glob("*.yaml")):
            a = parse_agreement(path.read_text(encoding="utf-8"), path.name)
            if a.code in agreements:
                raise AgreementError(f"{path.name} : code {a.code} déjà défini")
            agreements[a.code] = a
    return AgreementRegistry(agreements)


def local_directory() -> Path:
    """Where an organisation keeps its own agreements (RECOUVREMENT_AGREEMENTS_DIR, by default
    var/agreements), beside those shipped with the package."""
    return Path(os.environ.get("RECOUVREMENT_AGREEMENTS_DIR", "") or Path("var") / "agreements")


@lru_cache(maxsize=1)
def shipped_agreements() -> AgreementRegistry:
    """The shipped agreements and the locally loaded ones."""
    local = local_directory()
    return load_directory(DATA_DIR, *([local] if local.is_dir() else []))


def install_agreement(text: str, file_name: str) -> Agreement:
    """Validate an agreement file against the agreements already known, then keep it in the local
    directory. A shipped agreement cannot be replaced; a local one can (same code, new text)."""
    agreement = parse_agreement(text, file_name)
    current = shipped_agreements().agreements
    shipped = load_directory(DATA_DIR).agreements
    if agreement.code in shipped:
        raise AgreementError(
            f"{file_name} : {agreement.code} est une convention livrée, elle ne se remplace pas"
        )
    AgreementRegistry({**current, agreement.code: agreement})  # amended agreement known, no cycle
    directory = local_directory()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{agreement.code}.yaml"
    tmp = target.with_suffix(".yaml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)  # atomic: a crash leaves the old file or the new one, never half of it
    for other in directory.glob("*.yaml"):
        if (
            other != target
            and parse_agreement(other.read_text(encoding="utf-8"), other.name).code
            == agreement.code
        ):
            other.unlink()
    shipped_agreements.cache_clear()
    return agreement
