"""When a cue falls due: IANA time zones and cron expressions.

Cron expressions are parsed by croniter (maintained by pallets-eco): five fields, minute hour
day-of-month month day-of-week, or one of its @hourly / @daily / @weekly / @monthly / @yearly
names. Seconds and year columns (croniter's six- and seven-field forms) are refused: a cue
every second would flood the history. Times are computed in the cue's time zone, so
`0 0 * * *` in Europe/Paris is Paris midnight, across daylight-saving changes.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, CroniterError, croniter

CRON_FIELDS = 5


class ScheduleError(ValueError):
    """A time zone or cron expression that cannot schedule anything; the message says why."""


@cache
def _zone_names() -> frozenset[str]:
    # A lookup in the list of known names, never ZoneInfo(name) on a client's string: that
    # would read any file the name points at.
    return frozenset(available_timezones())


def check_timezone(name: str) -> ZoneInfo:
    """The zone of an IANA name such as `Europe/Paris` or `UTC` (ScheduleError otherwise)."""
    if name not in _zone_names():
        raise ScheduleError("must be an IANA time zone name such as UTC or Europe/Paris")
    return ZoneInfo(name)


def check_cron(expression: str, timezone: str) -> None:
    """ScheduleError unless `expression` is a five-field cron expression (or an @name) that
    falls due at least once."""
    fields = expression.split()
    if not (len(fields) == 1 and expression.startswith("@")) and len(fields) != CRON_FIELDS:
        raise ScheduleError("must have five fields (minute hour day month weekday), "
                            "as in */15 * * * *, or be @hourly, @daily, @weekly, ...")
    next_cron_time(expression, timezone, 0)


def next_cron_time(expression: str, timezone: str, after_ms: int) -> int:
    """The first time (epoch ms) strictly after `after_ms` that `expression` names in
    `timezone` (ScheduleError when it names none, such as 0 0 30 2 *)."""
    zone = check_timezone(timezone)
    start = datetime.fromtimestamp(after_ms / 1000, zone)
    try:
        found = croniter(expression, start).get_next(datetime)
    except CroniterBadDateError:
        raise ScheduleError("never falls due: it names no date that exists") from None
    except (CroniterError, ValueError, KeyError) as exc:
        raise ScheduleError(f"is not a cron expression croniter accepts ({exc})") from None
    return int(found.timestamp() * 1000)
