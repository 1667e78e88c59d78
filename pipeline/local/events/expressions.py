"""EventBridge schedule expressions: ``rate(value unit)`` and six-field ``cron(...)``.

The syntax is the one the EventBridge User Guide documents for scheduled rules
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html):
Minutes, Hours, Day-of-month, Month, Day-of-week (1-7 = SUN-SAT), Year, all in UTC, with the
wildcards ``, - * /`` everywhere, ``? L W`` in Day-of-month and ``? L #`` in Day-of-week; one
of the two day fields must be ``?``. A malformed expression raises
:class:`ScheduleExpressionError` with one sentence saying what to change.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.errors import N2NError

GUIDE = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html"
RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\(([^)]*)\)$")
UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
MONTHS = {
    name: n
    for n, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
WEEKDAYS = {name: n for n, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
LAST_YEAR = 2199


class ScheduleExpressionError(N2NError):
    """A schedule expression EventBridge would reject (or the local backend cannot run)."""


@dataclass(frozen=True)
class Rate:
    """``rate(value unit)``: a firing every ``period_s`` seconds from when the rule is enabled."""

    period_s: int


@dataclass(frozen=True)
class Field:
    """One cron field: its plain values, plus the day-field specials (``L``, ``W``, ``#``)."""

    values: frozenset[int]
    any: bool = False
    last: bool = False
    nearest_weekday: int | None = None
    last_weekday: int | None = None
    nth: tuple[int, int] | None = None


def _error(expression: str, problem: str) -> ScheduleExpressionError:
    return ScheduleExpressionError(
        f"Schedule expression {expression!r} {problem}: write it as {GUIDE} describes."
    )


def _number(token: str, low: int, high: int, names: dict[str, int], expression: str) -> int:
    value = names.get(token.upper()) if names else None
    if value is None:
        if not token.isdigit():
            raise _error(expression, f"has {token!r} where a number from {low} to {high} belongs")
        value = int(token)
    if not low <= value <= high:
        raise _error(expression, f"has {value}, outside {low}-{high}")
    return value


def _values(item: str, low: int, high: int, names: dict[str, int], expression: str) -> set[int]:
    """The values of one comma-separated item: ``*``, ``N``, ``A-B``, with ``/STEP``."""
    base, slash, step_text = item.partition("/")
    if base == "*":
        start, stop = low, high
    elif "-" in base:
        first, _, last = base.partition("-")
        start = _number(first, low, high, names, expression)
        stop = _number(last, low, high, names, expression)
        if start > stop:
            raise _error(expression, f"has the range {base!r} running backwards")
    else:
        start = _number(base, low, high, names, expression)
        stop = high if slash else start
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            raise _error(
                expression, f"has the increment {item!r} where START/STEP with STEP > 0 belongs"
            )
        step = int(step_text)
    return set(range(start, stop + 1, step))


def _field(text: str, low: int, high: int, names: dict[str, int], expression: str) -> Field:
    values: set[int] = set()
    for item in text.split(","):
        values |= _values(item, low, high, names, expression)
    return Field(frozenset(values))


def _day_of_month(text: str, expression: str) -> Field:
    if text == "?":
        return Field(frozenset(), any=True)
    if text == "L":
        return Field(frozenset(), last=True)
    if text.endswith("W") and "," not in text:
        return Field(frozenset(), nearest_weekday=_number(text[:-1], 1, 31, {}, expression))
    return _field(text, 1, 31, {}, expression)


def _day_of_week(text: str, expression: str) -> Field:
    if text == "?":
        return Field(frozenset(), any=True)
    if text == "L":
        return Field(frozenset({7}))
    if "#" in text:
        if "," in text:
            raise _error(
                expression, "combines '#' with other days where Day-of-week allows one N#K only"
            )
        day, _, nth = text.partition("#")
        weekday = _number(day, 1, 7, WEEKDAYS, expression)
        return Field(frozenset(), nth=(weekday, _number(nth, 1, 5, {}, expression)))
    if text.endswith("L") and "," not in text:
        return Field(frozenset(), last_weekday=_number(text[:-1], 1, 7, WEEKDAYS, expression))
    return _field(text, 1, 7, WEEKDAYS, expression)


def _weekday(year: int, month: int, day: int) -> int:
    """EventBridge's day of the week: 1 = SUN ... 7 = SAT."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


@dataclass(frozen=True)
class Cron:
    """A six-field EventBridge cron expression, evaluated in UTC."""

    minutes: Field
    hours: Field
    day_of_month: Field
    months: Field
    day_of_week: Field
    years: Field

    def days(self, year: int, month: int) -> list[int]:
        """The days of ``month`` in ``year`` the day fields select."""
        length = calendar.monthrange(year, month)[1]
        if self.day_of_week.any:
            return self._month_days(year, month, length)
        return self._week_days(year, month, length)

    def _month_days(self, year: int, month: int, length: int) -> list[int]:
        field = self.day_of_month
        if field.last:
            return [length]
        if field.nearest_weekday is not None:
            return [_nearest_weekday(year, month, min(field.nearest_weekday, length), length)]
        return sorted(day for day in field.values if day <= length)

    def _week_days(self, year: int, month: int, length: int) -> list[int]:
        field = self.day_of_week
        weekdays = {day: _weekday(year, month, day) for day in range(1, length + 1)}
        if field.nth is not None:
            weekday, nth = field.nth
            matching = [day for day, wd in weekdays.items() if wd == weekday]
            return [matching[nth - 1]] if nth <= len(matching) else []
        if field.last_weekday is not None:
            return [max(day for day, wd in weekdays.items() if wd == field.last_weekday)]
        return [day for day, wd in weekdays.items() if wd in field.values]

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after ``moment`` (UTC), or None if there is none."""
        start = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for year in sorted(y for y in self.years.values if y >= start.year):
            for month in sorted(self.months.values):
                if (year, month) < (start.year, start.month):
                    continue
                for day in self.days(year, month):
                    found = self._time_on(datetime(year, month, day, tzinfo=UTC), start)
                    if found:
                        return found
        return None

    def _time_on(self, day: datetime, start: datetime) -> datetime | None:
        if day.date() < start.date():
            return None
        for hour in sorted(self.hours.values):
            for minute in sorted(self.minutes.values):
                moment = day.replace(hour=hour, minute=minute)
                if moment >= start:
                    return moment
        return None


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int:
    """The weekday (MON-FRI) nearest ``day`` without leaving the month (``W``)."""
    weekday = _weekday(year, month, day)
    if weekday == 7:  # Saturday: Friday before, unless that leaves the month
        return day - 1 if day > 1 else day + 2
    if weekday == 1:  # Sunday: Monday after, unless that leaves the month
        return day + 1 if day < length else day - 2
    return day


def _cron(expression: str, text: str) -> Cron:
    fields = text.split()
    if len(fields) != 6:
        raise _error(expression, f"has {len(fields)} fields where cron needs 6")
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise _error(expression, "must have '?' in exactly one of Day-of-month and Day-of-week")
    for name, value, allowed in (
        ("Minutes", minutes, "*,-/0123456789"),
        ("Hours", hours, "*,-/0123456789"),
        ("Year", year, "*,-/0123456789"),
    ):
        if set(value) - set(allowed):
            raise _error(expression, f"has {value!r} in {name}, which allows , - * / only")
    return Cron(
        minutes=_field(minutes, 0, 59, {}, expression),
        hours=_field(hours, 0, 23, {}, expression),
        day_of_month=_day_of_month(day_of_month, expression),
        months=_field(month, 1, 12, MONTHS, expression),
        day_of_week=_day_of_week(day_of_week, expression),
        years=_field(year, 1970, LAST_YEAR, {}, expression),
    )


def parse_schedule(expression: str) -> Rate | Cron:
    """The schedule an EventBridge ``ScheduleExpression`` stands for."""
    rate = RATE.match(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value == 0:
            raise _error(expression, "has a rate of 0 where a positive whole number belongs")
        if (value == 1) != (not unit.endswith("s")):
            raise _error(
                expression,
                "has the wrong unit form (1 takes minute/hour/day, more take minutes/hours/days)",
            )
        return Rate(value * UNIT_S[unit.rstrip("s")])
    cron = CRON.match(expression)
    if cron:
        return _cron(expression, cron.group(1))
    raise _error(expression, "is neither rate(value unit) nor cron(six fields)")
