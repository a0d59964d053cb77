"""The Mayotte transfer schedule: when the central agency pays Unédic, announces it, and settles up.

Mayotte amendment of 18 December 2013, chapter III, by derogation from article 7 of the 2010
convention:

- art. 5.1: the contributions collected by the CSSM are passed on by one annual advance « au 30 juin
  de l'année N (ou jour ouvré précédent en cas de jour fermé) », equal to the year N-1 receipts,
  announced « le jour ouvré précédent avant 16h30 par mail »;
- art. 5.2: the regularisation of year N is made once the central agency's accounts are closed,
  « au plus tard le 15 février de N+1 », « dans les 10 jours ouvrés qui suivent la connaissance des
  résultats comptables de fin d'exercice, soit au plus tard le 28 février N+1 »; a complement owed
  to Unédic is announced like the advance;
- art. 5.3: for the first advance (2013), Unédic notifies « avant le 31 mai 2013 » the 2012 receipts.

Every figure of that list (days, times, counts, accounts, calendar, time zone) is read from the
agreement data (`agreements/data/unedic-mayotte.yaml`), so an amended schedule is a data change.

A `deadline` that is a date is the last day allowed; a `deadline` that is a datetime is an instant
*before* which the act must happen (« avant 16h30 », « avant le 31 mai »), so it reads as an
exclusive limit. Payment days are rolled back to the business day before when closed, never
forward: the texts say « ou jour ouvré précédent » and « au plus tard ».

>>> from recouvrement.agreements.loader import shipped_agreements
>>> rules = transfer_rules(shipped_agreements().resolve("unedic-mayotte"))
>>> advance_payment_day(rules, 2013)  # 30 June 2013 is a Sunday
datetime.date(2013, 6, 28)
>>> announcement_deadline(rules, date(2013, 6, 28)).isoformat()
'2013-06-27T16:30:00+02:00'
>>> regularisation_due(rules, 2013, date(2014, 2, 3))  # closing + 10 business days
datetime.date(2014, 2, 17)
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recouvrement.domain.calendars import BusinessCalendar
from recouvrement.domain.errors import DomainError

if TYPE_CHECKING:
    from recouvrement.agreements.model import Agreement, ResolvedAgreement


class EventKind(StrEnum):
    FIRST_ADVANCE_NOTIFICATION_DEADLINE = "first_advance_notification_deadline"
    ADVANCE_ANNOUNCEMENT = "advance_announcement"
    ADVANCE_PAYMENT = "advance_payment"
    ACCOUNTS_CLOSING_DEADLINE = "accounts_closing_deadline"
    REGULARISATION_ANNOUNCEMENT = "regularisation_announcement"
    REGULARISATION_DEADLINE = "regularisation_deadline"


class DayRule(NamedTuple):
    """A day of the year, `year_offset` years after the year N it belongs to."""

    month: int
    day: int
    year_offset: int = 0

    def on(self, year: int, key: str) -> date:
        try:
            return date(year + self.year_offset, self.month, self.day)
        except ValueError:
            raise DomainError.single(
                key, f"jour {self.day}/{self.month} inexistant en {year + self.year_offset}"
            ) from None


class Setting(NamedTuple):
    """A value of the schedule with the text it comes from."""

    value: object
    source: str

    @property
    def article(self) -> str:
        """The article part of a source such as « art. 5.1 : acompte annuel au 30 juin »."""
        return self.source.split(" : ", 1)[0].strip()


class TransferRules(NamedTuple):
    """The transfer schedule of one agreement, as its data states it.

    Attributes:
        agreement: code of the agreement the schedule comes from.
        calendar: business days of payments between the central agency's and the fund's accounts.
        payment_day: day of the annual advance, rolled back to a business day when closed.
        announcement_days_before: business days between an announcement and its payment.
        announcement_before: local time before which an announcement is due.
        time_zone: time zone of that local time (the central agency's, Europe/Paris).
        recipients: e-mail addresses of the announcements and notices (annex 3).
        advance_account: annex of the account the advance is paid to.
        first_advance_year: year whose advance rests on the fund's notification (2013).
        notified_year: year whose receipts the fund notifies (2012).
        notification_before: day before which the fund notifies those receipts.
        closing_latest: latest closing of the central agency's accounts for year N.
        due_within_business_days: business days after the closing within which to regularise.
        regularisation_latest: latest day of the regularisation, whatever the closing day.
        overpaid_account: annex of the account the fund pays an overpayment back to.
        owed_account: annex of the account a complement owed to the fund is paid to.
        sources: the source of each setting used, by schedule event kind.
    """

    agreement: str
    calendar: BusinessCalendar
    payment_day: DayRule
    announcement_days_before: int
    announcement_before: time
    time_zone: ZoneInfo
    recipients: tuple[str, ...]
    advance_account: str
    first_advance_year: int
    notified_year: int
    notification_before: date
    closing_latest: DayRule
    due_within_business_days: int
    regularisation_latest: DayRule
    overpaid_account: str
    owed_account: str
    sources: dict[str, Setting]


class ScheduleEvent(NamedTuple):
    """One dated step of the schedule of year N.

    Attributes:
        year: the year N the event belongs to (the regularisation of 2013 falls in February 2014).
        kind: what happens (EventKind).
        when: the day, or for a time limit the instant with its UTC offset.
        is_deadline: True when `when` is a limit, False when it is the day the act is done.
        calendar: name of the business-day calendar the day was computed with.
        article: article of the agreement that sets the rule.
        source: the source text of the setting.
        account: annex of the account paid, when there is a payment.
        recipients: who is told, for announcements and notices.
        basis: what the amount of a payment equals.
        applies_when: the condition under which the event happens at all.
    """

    year: int
    kind: EventKind
    when: date | datetime
    is_deadline: bool
    calendar: str
    article: str
    source: str
    account: str | None = None
    recipients: tuple[str, ...] = ()
    basis: str | None = None
    applies_when: str | None = None

    def as_dict(self) -> dict:
        out: dict = {"year": self.year, "kind": self.kind.value}
        out["deadline" if self.is_deadline else "date"] = self.when.isoformat()
        out |= {"calendar": self.calendar, "article": self.article, "source": self.source}
        if self.account:
            out["account"] = self.account
        if self.recipients:
            out["recipients"] = list(self.recipients)
        if self.basis:
            out["basis"] = self.basis
        if self.applies_when:
            out["applies_when"] = self.applies_when
        return out


# --- reading the agreement data -------------------------------------------------------------


def _setting(resolved: ResolvedAgreement, key: str) -> Setting:
    found = resolved.settings.get(key)
    if found is None:
        raise DomainError.single(
            key,
            f"la convention {resolved.agreement.code} ne prévoit pas ce paramètre du calendrier "
            "de reversement",
            "missing_setting",
        )
    return Setting(found.value, found.source)


def _field(setting: Setting, key: str, name: str, kind: type | tuple = int):
    value = setting.value.get(name) if isinstance(setting.value, dict) else None
    if value is None or isinstance(value, bool) or not isinstance(value, kind):
        raise DomainError.single(f"{key}.{name}", "valeur absente ou de type inattendu")
    return value


def _day_rule(setting: Setting, key: str) -> DayRule:
    rule = DayRule(
        _field(setting, key, "month"),
        _field(setting, key, "day"),
        setting.value.get("year_offset", 0),
    )
    rule.on(2000, key)  # a leap year: refuses 31 April, accepts 29 February
    return rule


def _annex_accounts(resolved: ResolvedAgreement, key: str, annex: object) -> str:
    content = resolved.annexes.get(str(annex), (None, ""))[0]
    if not isinstance(content, dict) or "iban" not in content:
        raise DomainError.single(key, f"l'annexe {annex!r} ne donne pas de compte bancaire (IBAN)")
    return str(annex)


def _recipients(resolved: ResolvedAgreement, key: str, annex: object) -> tuple[str, ...]:
    content = resolved.annexes.get(str(annex), (None, ""))[0]
    people = content.get("recipients") if isinstance(content, dict) else None
    emails = tuple(p.get("email") for p in people or () if isinstance(p, dict) and p.get("email"))
    if not emails:
        raise DomainError.single(key, f"l'annexe {annex!r} ne donne aucun destinataire (email)")
    return emails


def transfer_rules(resolved: ResolvedAgreement) -> TransferRules:
    """Read and check the schedule settings of an agreement; a gap names the missing setting."""
    keys = {
        "payment": "transfers.advance.payment_day",
        "account": "transfers.advance.account",
        "announcement": "transfers.announcement",
        "first": "transfers.first_advance",
        "closing": "transfers.regularisation.accounts_closing_latest",
        "within": "transfers.regularisation.due_within_business_days",
        "latest": "transfers.regularisation.latest",
        "overpaid": "transfers.regularisation.overpaid_account",
        "owed": "transfers.regularisation.owed_account",
        "calendar": "transfers.calendar",
    }
    s = {name: _setting(resolved, key) for name, key in keys.items()}
    if not isinstance(s["payment"].value, dict) or s["payment"].value.get("roll") not in (
        None,
        "previous_business_day",
    ):
        raise DomainError.single(
            keys["payment"] + ".roll", "seul « previous_business_day » est prévu par l'avenant"
        )
    ann = s["announcement"]
    tz_name = _field(ann, keys["announcement"], "time_zone", str)
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError.single(
            keys["announcement"] + ".time_zone", f"fuseau horaire inconnu : {tz_name!r}"
        ) from None
    before_text = _field(ann, keys["announcement"], "before", str)
    try:
        before = time.fromisoformat(before_text)
    except ValueError:
        raise DomainError.single(
            keys["announcement"] + ".before", f"heure invalide {before_text!r} (attendu HH:MM)"
        ) from None
    days_before = _field(ann, keys["announcement"], "business_days_before")
    within = s["within"].value
    if isinstance(within, bool) or not isinstance(within, int) or within <= 0 or days_before <= 0:
        raise DomainError.single(keys["within"], "nombre de jours ouvrés strictement positif")
    cal = s["calendar"].value if isinstance(s["calendar"].value, dict) else {}
    calendar = BusinessCalendar(str(cal.get("country", "")), cal.get("subdivision"))
    try:
        calendar.holidays_of(2013)
    except NotImplementedError:
        raise DomainError.single(
            keys["calendar"], f"calendrier inconnu : {calendar.name!r}"
        ) from None
    first = s["first"]
    notification = first.value.get("notification_deadline") if isinstance(first.value, dict) else 0
    if not isinstance(notification, date):
        raise DomainError.single(keys["first"] + ".notification_deadline", "date attendue")
    return TransferRules(
        agreement=resolved.agreement.code,
        calendar=calendar,
        payment_day=_day_rule(s["payment"], keys["payment"]),
        announcement_days_before=days_before,
        announcement_before=before,
        time_zone=tz,
        recipients=_recipients(resolved, keys["announcement"], ann.value.get("recipients")),
        advance_account=_annex_accounts(resolved, keys["account"], s["account"].value),
        first_advance_year=_field(first, keys["first"], "year"),
        notified_year=_field(first, keys["first"], "notified_year"),
        notification_before=notification,
        closing_latest=_day_rule(s["closing"], keys["closing"]),
        due_within_business_days=within,
        regularisation_latest=_day_rule(s["latest"], keys["latest"]),
        overpaid_account=_annex_accounts(resolved, keys["overpaid"], s["overpaid"].value),
        owed_account=_annex_accounts(resolved, keys["owed"], s["owed"].value),
        sources=s,
    )


def check_years(agreement: Agreement, first: int, last: int) -> None:
    """A schedule is asked for years the agreement covers: it took effect on 1 January 2013
    (art. 12) and has no end, but a later agreement might end it."""
    if first > last:
        raise DomainError.single(
            "from", f"l'année de début ({first}) est après l'année de fin ({last})", "bad_range"
        )
    if first < agreement.valid_from.year:
        raise DomainError.single(
            "from",
            f"{first} est avant l'entrée en vigueur de {agreement.code} "
            f"({agreement.valid_from.isoformat()})",
            "out_of_force",
        )
    if agreement.valid_to is not None and last > agreement.valid_to.year:
        raise DomainError.single(
            "to",
            f"{last} est après la fin de {agreement.code} ({agreement.valid_to.isoformat()})",
            "out_of_force",
        )


# --- the rules ------------------------------------------------------------------------------


def advance_payment_day(rules: TransferRules, year: int) -> date:
    """Art. 5.1: « au 30 juin de l'année N (ou jour ouvré précédent en cas de jour fermé) »."""
    return rules.calendar.previous_or_same(rules.payment_day.on(year, "payment_day"))


def announcement_deadline(rules: TransferRules, payment_day: date) -> datetime:
    """Art. 5.1 and 5.2: a payment is announced « le jour ouvré précédent avant 16h30 par mail »,
    in the central agency's time zone; the result is the instant the e-mail must precede."""
    day = rules.calendar.add_business_days(payment_day, -rules.announcement_days_before)
    return datetime.combine(day, rules.announcement_before, tzinfo=rules.time_zone)


def accounts_closing_deadline(rules: TransferRules, year: int) -> date:
    """Art. 5.2: the central agency's accounts for N are closed « au plus tard le 15 février de
    N+1 »; closing is an act of its accounting officer, so a closed day rolls back."""
    return rules.calendar.previous_or_same(rules.closing_latest.on(year, "closing_latest"))


def regularisation_due(rules: TransferRules, year: int, closing_day: date) -> date:
    """Art. 5.2: the regularisation of N is due « dans les 10 jours ouvrés qui suivent la
    connaissance des résultats comptables de fin d'exercice, soit au plus tard le 28 février
    N+1 », rolled back to the business day before when that day is closed.

    A late closing does not move the 28 February limit: the regularisation is then overdue from
    the moment the results are known, which the daily cycle must report rather than hide.
    """
    if closing_day.year <= year:
        raise DomainError.single(
            "closing_day",
            f"la clôture des comptes de {year} ne peut précéder le 1er janvier {year + 1}",
            "too_early",
        )
    within = rules.calendar.add_business_days(closing_day, rules.due_within_business_days)
    latest = rules.regularisation_latest.on(year, "regularisation_latest")
    return rules.calendar.previous_or_same(min(within, latest))


def regularisation_deadline(rules: TransferRules, year: int) -> date:
    """The latest regularisation day of N: the one that follows the latest allowed closing."""
    return regularisation_due(rules, year, accounts_closing_deadline(rules, year))


def notification_deadline(rules: TransferRules) -> datetime:
    """Art. 5.3: Unédic notifies the 2012 receipts « avant le 31 mai 2013 »: the instant the
    notification must precede is the start of that day at the central agency."""
    return datetime.combine(rules.notification_before, time(0, 0), tzinfo=rules.time_zone)


# --- the schedule ---------------------------------------------------------------------------


def events_of_year(rules: TransferRules, year: int) -> list[ScheduleEvent]:
    """The schedule of year N, in the order the events happen."""
    src = rules.sources
    cal = rules.calendar.name
    ann = src["announcement"]
    events: list[ScheduleEvent] = []
    first_year = year == rules.first_advance_year
    if first_year:
        first = src["first"]
        events.append(
            ScheduleEvent(
                year,
                EventKind.FIRST_ADVANCE_NOTIFICATION_DEADLINE,
                notification_deadline(rules),
                True,
                cal,
                first.article,
                first.source,
                basis=f"receipts_{rules.notified_year}",
            )
        )
    payment = advance_payment_day(rules, year)
    events.append(
        ScheduleEvent(
            year,
            EventKind.ADVANCE_ANNOUNCEMENT,
            announcement_deadline(rules, payment),
            True,
            cal,
            ann.article,
            ann.source,
            recipients=rules.recipients,
        )
    )
    events.append(
        ScheduleEvent(
            year,
            EventKind.ADVANCE_PAYMENT,
            payment,
            False,
            cal,
            src["payment"].article,
            src["payment"].source,
            account=rules.advance_account,
            basis="notified_by_fund" if first_year else f"receipts_{year - 1}",
        )
    )
    closing = src["closing"]
    events.append(
        ScheduleEvent(
            year,
            EventKind.ACCOUNTS_CLOSING_DEADLINE,
            accounts_closing_deadline(rules, year),
            True,
            cal,
            closing.article,
            closing.source,
        )
    )
    due = regularisation_deadline(rules, year)
    events.append(
        ScheduleEvent(
            year,
            EventKind.REGULARISATION_ANNOUNCEMENT,
            announcement_deadline(rules, due),
            True,
            cal,
            ann.article,
            ann.source,
            account=rules.owed_account,
            recipients=rules.recipients,
            applies_when="owed",
        )
    )
    events.append(
        ScheduleEvent(
            year,
            EventKind.REGULARISATION_DEADLINE,
            due,
            True,
            cal,
            src["latest"].article,
            src["within"].source + " ; " + src["latest"].source,
            recipients=rules.recipients,
            basis=f"final_receipts_{year}_minus_advance_{year}",
        )
    )
    return events


def transfer_schedule(resolved: ResolvedAgreement, first: int, last: int) -> list[ScheduleEvent]:
    """Every event of the years first..last of an agreement's transfer schedule."""
    check_years(resolved.agreement, first, last)
    rules = transfer_rules(resolved)
    return [e for year in range(first, last + 1) for e in events_of_year(rules, year)]
