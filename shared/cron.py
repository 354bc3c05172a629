"""Five-field cron expressions (pure, no I/O): validated by the API, run by the scheduler.

``minute hour day-of-month month day-of-week``, each ``*``, a number, a range
``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list of those. Months and
weekdays also take names (``jan``, ``mon``); day-of-week 0 and 7 are Sunday.
The macros ``@hourly``, ``@daily`` (``@midnight``), ``@weekly``, ``@monthly``
and ``@yearly`` (``@annually``) stand for their usual expressions. As in Vixie
cron, when both day fields are restricted a day matching either one fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun",
           "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names for lowest..)
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
#: How far `next_after` looks: a leap day that also has to be a given weekday
#: recurs within 28 years.
_HORIZON = timedelta(days=366 * 28)


class CronSyntaxError(ValueError):
    """The expression is not five valid cron fields (the message says which one)."""


@dataclass(frozen=True)
class Cron:
    """A parsed expression: the values each field allows."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month started with "*" (Vixie cron's rule)
    any_weekday: bool  # day of week started with "*"

    def day_matches(self, moment: datetime) -> bool:
        in_month = moment.day in self.days
        in_week = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week
        return in_month or in_week


def parse(expression: str) -> Cron:
    """Parse a cron expression. Raises `CronSyntaxError`."""
    text = " ".join(expression.split()).lower()
    text = _MACROS.get(text, text)
    parts = text.split(" ")
    if len(parts) != 5:
        raise CronSyntaxError(
            f"a cron expression has 5 fields (minute hour day month weekday), not {len(parts)}"
        )
    values = [_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(day % 7 for day in values[4])
    return Cron(values[0], values[1], values[2], values[3], weekdays,
                any_day=parts[2].startswith("*"), any_weekday=parts[4].startswith("*"))


def next_after(expression: str | Cron, after: datetime) -> datetime | None:
    """The first minute strictly after `after` that the expression fires at, in
    `after`'s time zone; None if it never fires (``0 0 31 2 *``).

    Raises `CronSyntaxError` for a malformed expression string.
    """
    cron = parse(expression) if isinstance(expression, str) else expression
    moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    limit = moment + _HORIZON
    while moment < limit:
        if moment.month not in cron.months:
            year, month = divmod(moment.month, 12)
            moment = moment.replace(year=moment.year + year, month=month + 1, day=1,
                                    hour=0, minute=0)
        elif not cron.day_matches(moment):
            moment = moment.replace(hour=0, minute=0) + timedelta(days=1)
        elif moment.hour not in cron.hours:
            moment = moment.replace(minute=0) + timedelta(hours=1)
        elif moment.minute not in cron.minutes:
            moment += timedelta(minutes=1)
        else:
            return moment
    return None


def _field(text: str, what: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    allowed: set[int] = set()
    for item in text.split(","):
        allowed.update(_item(item, what, low, high, names))
    return frozenset(allowed)


def _item(item: str, what: str, low: int, high: int, names: tuple[str, ...]) -> range:
    span, slash, step_text = item.partition("/")
    step = 1
    if slash:
        step = _number(step_text, what, 1, high - low + 1 if high > low else 1, ())
    if span == "*":
        start, end = low, high
    elif "-" in span:
        first, _, last = span.partition("-")
        start, end = (_number(first, what, low, high, names),
                      _number(last, what, low, high, names))
        if start > end:
            raise CronSyntaxError(f"{what}: range {span!r} runs backwards")
    else:
        start = _number(span, what, low, high, names)
        end = high if slash else start
    return range(start, end + 1, step)


def _number(text: str, what: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text in names:
        return names.index(text) + low
    if not text.isdecimal() or not text.isascii() or len(text) > 2:
        raise CronSyntaxError(f"{what}: {text!r} is not a number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise CronSyntaxError(f"{what}: {value} is outside {low}-{high}")
    return value
