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
"""Fixed width of the body (ISO 11649 allows up to 21): ids below 10^10. A fixed width lets the
reference be told apart from digits that follow it in free text (a period, an invoice number)
without trying several lengths, each of which a mod-97 check would pass one time in 97."""

# "RF", two check digits, then the body's digits, each group separated by one space or hyphen.
_CANDIDATE = re.compile(
    rf"(?<![0-9A-Z])RF\s?(\d{{2}})((?:[ \-]?\d){{{BODY_DIGITS}}})(?!\d)", re.IGNORECASE
)


@lru_cache(maxsize=1 << 17)
def account_reference(contributor_id: int) -> str:
    """The compact RF reference of a contributor's account (no spaces).

    >>> account_reference(1)
    'RF740000000001'
    """
    if not 0 < contributor_id < 10**BODY_DIGITS:
        raise ValueError(f"contributor id out of the reference's range: {contributor_id}")
    body = str(contributor_id).zfill(BODY_DIGITS)
    check = mod_97_10.calc_check_digits(body + "RF")
    return f"RF{check}{body}"


def format_reference(reference: str) -> str:
    """Blocks of four characters, as printed on the call notice (ISO 11649 print form)."""
    return iso11649.format(reference)


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
        body = re.sub(r"[ \-]", "", match.group(2))
        if _is_valid(f"RF{match.group(1)}{body}") and int(body) > 0:
            found.add(int(body))
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
