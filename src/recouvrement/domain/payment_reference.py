"""The payment reference of an account: an ISO 11649 "RF" structured creditor reference.

Why RF rather than a home-made number: SEPA credit transfers carry it in the structured remittance
field (``RmtInf/Strd/CdtrRefInf/Ref``) end to end, banks validate its mod-97 check digits at entry
(ISO 7064), and a typo in the contributor's home banking is refused there rather than landing in
suspense here. The body is the contributor id, zero-padded to ``BODY_DIGITS`` digits, so the
reference is stable for the life of the account and printed on every call notice.

Contributors often type it into the free-text field instead (``Ustrd``), with spaces, in lower
case, next to other words: the reverse lookup searches free text and refuses ambiguity (two
different valid references → no match, the receipt goes to suspense for an agent).

>>> account_reference(42)
'RF340000000042'
>>> format_reference(account_reference(42))
'RF34 0000 0000 42'
>>> contributor_of_reference("RF34 0000 0000 42")
42
>>> contributor_of_reference("cotisations mars rf340000000042 merci")
42
>>> contributor_of_reference("VIR SEPA REF: Rf34 0000 0000 42 2024-03")
42
>>> contributor_of_reference("RF35 0000 0000 42") is None
True
>>> contributor_of_reference("facture 2024-03") is None
True
"""

from __future__ import annotations

import re
from functools import lru_cache

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

BODY_DIGITS = 10
"""Zero-padded width of the body: 10 digits cover ids below 10^10, a longer id keeps its digits."""

MAX_BODY = 21
"""ISO 11649: at most 21 characters after ``RF`` and the two check digits."""

# "RF", two check digits, then up to 21 digits that may be separated by one space or hyphen.
_CANDIDATE = re.compile(r"(?<![0-9A-Z])RF\s?(\d{2})((?:[ \-]?\d){1,21})", re.IGNORECASE)


@lru_cache(maxsize=1 << 17)
def account_reference(contributor_id: int) -> str:
    """The compact RF reference of a contributor's account (no spaces).

    >>> account_reference(1)
    'RF740000000001'
    >>> account_reference(12345678901)
    'RF1912345678901'
    """
    if contributor_id <= 0:
        raise ValueError("contributor id must be positive")
    body = str(contributor_id).zfill(BODY_DIGITS)
    if len(body) > MAX_BODY:
        raise ValueError("contributor id too long for an ISO 11649 reference")
    check = mod_97_10.calc_check_digits(body + "RF")
    return f"RF{check}{body}"


def format_reference(reference: str) -> str:
    """Blocks of four characters, as printed on the call notice (ISO 11649 print form)."""
    return iso11649.format(reference)


def _body_candidates(body: str) -> list[str]:
    """Digit prefixes of a run, the canonical width first: free text may glue a year after it."""
    lengths = [BODY_DIGITS] if len(body) >= BODY_DIGITS else []
    lengths += [n for n in range(len(body), 0, -1) if n != BODY_DIGITS and n > BODY_DIGITS]
    return [body[:n] for n in lengths]


@lru_cache(maxsize=1 << 16)
def _is_valid(reference: str) -> bool:
    return iso11649.is_valid(reference)


def contributor_of_reference(text: str | None) -> int | None:
    """The contributor id of the one valid RF reference found in ``text``, or None.

    None when there is no valid reference, or when valid references of two different
    contributors appear (ambiguous: an agent decides).

    >>> contributor_of_reference("RF74 0000 0000 01 et RF34 0000 0000 42") is None
    True
    >>> contributor_of_reference("RF740000000001 / RF74 0000 0000 01")
    1
    >>> contributor_of_reference(None) is None
    True
    """
    if not text:
        return None
    found: set[int] = set()
    for match in _CANDIDATE.finditer(text):
        check = match.group(1)
        body = re.sub(r"[ \-]", "", match.group(2))
        for candidate in _body_candidates(body):
            if _is_valid(f"RF{check}{candidate}") and int(candidate) > 0:
                found.add(int(candidate))
                break
    if len(found) != 1:
        return None
    return found.pop()


_PERIOD_AFTER = re.compile(r"(\d{4}(?:-Q[1-4]|-(?:0[1-9]|1[0-2]))?)(?!\d)")


def designated_period(text: str | None, contributor_id: int) -> str | None:
    """The period a payment designates by quoting a call's reference (the account's RF reference
    followed by the period, `domain/calls.call_reference`), or None.

    The debtor may say which debt a payment settles (Code civil art. 1342-10): quoting the call
    does so.

    >>> designated_period("VIR RF34 0000 0000 42 2024-03 merci", 42)
    '2024-03'
    >>> designated_period("rf340000000042 2024-q1", 42)
    '2024-Q1'
    >>> designated_period("RF34 0000 0000 42", 42) is None
    True
    """
    if not text or len(text) <= len("RF00") + BODY_DIGITS:
        return None
    compact = re.sub(r"\s+", "", text).upper()
    reference = account_reference(contributor_id)
    at = compact.find(reference)
    if at < 0:
        return None
    match = _PERIOD_AFTER.match(compact, at + len(reference))
    return match.group(1) if match else None
