"""Identifiers are checked at the edge, with python-stdnum's checksums, before anything is stored.

A wrong NIR or SIRET is the commonest cause of a registration-flow reject; the reason given here
is what the agent working the reject reads.
"""

from __future__ import annotations

from stdnum import exceptions as stdnum_errors
from stdnum.fr import nir as stdnum_nir
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from recouvrement.domain.errors import DomainError

MAINLAND_DEPARTMENTS = frozenset([f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"])
OVERSEAS_DEPARTMENTS = {
    "971": "Guadeloupe",
    "972": "Martinique",
    "973": "Guyane",
    "974": "La Réunion",
    "976": "Mayotte",
}
TERRITORIES = MAINLAND_DEPARTMENTS | frozenset(OVERSEAS_DEPARTMENTS)
MAYOTTE = "976"


def _check(module, value: str, field: str, label: str) -> str:
    compact = module.compact(value or "")
    try:
        return module.validate(compact)
    except stdnum_errors.InvalidChecksum:
        reason = f"{label} {value!r} : clé de contrôle incorrecte"
        code = "bad_checksum"
    except stdnum_errors.InvalidLength:
        reason = f"{label} {value!r} : longueur incorrecte"
        code = "bad_length"
    except stdnum_errors.InvalidFormat:
        reason = f"{label} {value!r} : format incorrect"
        code = "bad_format"
    except stdnum_errors.ValidationError:
        reason = f"{label} {value!r} : invalide"
        code = "invalid"
    raise DomainError.single(field, reason, code)


def validate_nir(value: str, field: str = "nir") -> str:
    """The 15-character NIR (13 digits + 2-digit key), compacted."""
    return _check(stdnum_nir, value, field, "NIR")


def validate_siren(value: str, field: str = "siren") -> str:
    return _check(stdnum_siren, value, field, "SIREN")


def validate_siret(value: str, field: str = "siret", siren: str | None = None) -> str:
    """A SIRET; when the employer's SIREN is given, the SIRET must start with it."""
    siret = _check(stdnum_siret, value, field, "SIRET")
    if siren is not None and not siret.startswith(siren):
        raise DomainError.single(
            field, f"SIRET {value!r} n'appartient pas au SIREN {siren}", "siret_siren_mismatch"
        )
    return siret


def validate_territory(value: str, field: str = "territory") -> str:
    """A department code: "01"…"95", "2A", "2B", or an overseas code such as "976" (Mayotte)."""
    code = (value or "").strip().upper()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    if code not in TERRITORIES:
        raise DomainError.single(field, f"territoire inconnu : {value!r}", "unknown_territory")
    return code


def is_overseas(territory: str) -> bool:
    return territory in OVERSEAS_DEPARTMENTS
