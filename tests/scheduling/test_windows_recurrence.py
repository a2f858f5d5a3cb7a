"""Recurring windows: wall-clock times across DST changes and time zones, business-day rules,
recurrence ends (scheduling.windows.occurrences / windows_at / next_occurrences)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from scheduling.choices import WindowKind
from scheduling.windows import next_occurrences, occurrences, windows_at
from tests.scheduling.calendar_support import local, utc, window

WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"


def starts(found):
    return [utc(o.start) for o in found]


@pytest.fixture
def berlin_office_hours(db):
    """09:00-17:00 Europe/Berlin every weekday, from Monday 1 March 2027."""
    return window(
        "Berlin office hours",
        local(2027, 3, 1, 9, zone="Europe/Berlin"),
        local(2027, 3, 1, 17, zone="Europe/Berlin"),
        timezone="Europe/Berlin",
        rrule=WEEKDAYS,
        kind=WindowKind.RELEASE_WINDOW,
    )


def test_a_berlin_window_stays_at_nine_local_across_the_spring_dst_change(berlin_office_hours):
    # DST starts on Sunday 28 March 2027: 09:00 CET is 08:00 UTC, 09:00 CEST is 07:00 UTC.
    found = occurrences(
        berlin_office_hours, local(2027, 3, 26, zone="UTC"), local(2027, 3, 30, zone="UTC")
    )
    assert starts(found) == [
        local(2027, 3, 26, 8, zone="UTC"),
        local(2027, 3, 29, 7, zone="UTC"),
    ]
    assert [utc(o.end) for o in found] == [
        local(2027, 3, 26, 16, zone="UTC"),
        local(2027, 3, 29, 15, zone="UTC"),
    ]


def test_a_berlin_window_stays_at_nine_local_across_the_autumn_dst_change(berlin_office_hours):
    # DST ends on Sunday 31 October 2027.
    found = occurrences(
        berlin_office_hours, local(2027, 10, 29, zone="UTC"), local(2027, 11, 2, zone="UTC")
    )
    assert starts(found) == [
        local(2027, 10, 29, 7, zone="UTC"),
        local(2027, 11, 1, 8, zone="UTC"),
    ]
    assert all(
        o.start.astimezone(local(2027, 1, 1, zone="Europe/Berlin").tzinfo).hour == 9 for o in found
    )


def test_a_window_spanning_the_dst_change_is_one_hour_shorter_that_night(db):
    nightly = window(
        "Night batch",
        local(2027, 3, 26, 0, zone="Europe/Berlin"),
        local(2027, 3, 26, 6, zone="Europe/Berlin"),
        timezone="Europe/Berlin",
        rrule="FREQ=DAILY",
    )
    found = occurrences(nightly, local(2027, 3, 27, zone="UTC"), local(2027, 3, 29, zone="UTC"))
    lengths = {o.start.date().isoformat(): o.end - o.start for o in found}
    # 00:00-06:00 local: six hours, but only five on the night the clocks go forward.
    assert lengths["2027-03-26"] == timedelta(hours=6)  # Sat 00:00 CET = Fri 23:00 UTC
    assert lengths["2027-03-27"] == timedelta(hours=5)  # Sun 00:00 CET → 06:00 CEST


def test_a_wall_clock_time_skipped_by_the_dst_change_still_yields_an_occurrence(db):
    at_half_past_two = window(
        "Backup",
        local(2027, 3, 25, 2, 30, zone="Europe/Berlin"),
        local(2027, 3, 25, 3, 0, zone="Europe/Berlin"),
        timezone="Europe/Berlin",
        rrule="FREQ=DAILY",
        kind=WindowKind.MAINTENANCE,
    )
    found = occurrences(
        at_half_past_two, local(2027, 3, 28, zone="UTC"), local(2027, 3, 28, 12, zone="UTC")
    )
    # 02:30 does not exist on 28 March in Berlin; it is read with the winter offset (01:30 UTC).
    assert starts(found) == [local(2027, 3, 28, 1, 30, zone="UTC")]


@pytest.fixture
def new_york_and_tokyo(db):
    def make(zone):
        return window(
            f"Office hours {zone}",
            local(2027, 3, 1, 9, zone=zone),
            local(2027, 3, 1, 17, zone=zone),
            timezone=zone,
            rrule=WEEKDAYS,
            kind=WindowKind.MAINTENANCE,
        )

    return make("America/New_York"), make("Asia/Tokyo")


def test_the_same_rule_follows_each_windows_own_time_zone(new_york_and_tokyo):
    new_york, tokyo = new_york_and_tokyo
    since, until = local(2027, 3, 12, zone="UTC"), local(2027, 3, 16, zone="UTC")
    # New York moves to EDT on Sunday 14 March 2027; Tokyo has no DST.
    assert starts(occurrences(new_york, since, until)) == [
        local(2027, 3, 12, 14, zone="UTC"),
        local(2027, 3, 15, 13, zone="UTC"),
    ]
    assert starts(occurrences(tokyo, since, until)) == [
        local(2027, 3, 12, 0, zone="UTC"),
        local(2027, 3, 15, 0, zone="UTC"),
    ]


def test_what_applies_at_a_moment_depends_on_the_windows_time_zone(new_york_and_tokyo):
    new_york, tokyo = new_york_and_tokyo
    afternoon_utc = local(2027, 3, 15, 13, 30, zone="UTC")  # 09:30 in New York, 22:30 in Tokyo
    assert [o.window for o in windows_at(afternoon_utc)] == [new_york]
    night_utc = local(2027, 3, 16, 1, 0, zone="UTC")  # 21:00 in New York, 10:00 in Tokyo
    assert [o.window for o in windows_at(night_utc)] == [tokyo]


def test_last_three_business_days_of_every_month(db):
    month_end = window(
        "Month-end close",
        local(2027, 1, 1, zone="UTC"),
        local(2027, 1, 2, zone="UTC"),
        rrule="FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1",
        kind=WindowKind.BLACKOUT,
    )
    found = occurrences(month_end, local(2027, 1, 1, zone="UTC"), local(2027, 6, 1, zone="UTC"))
    days = [o.start.date().isoformat() for o in found]
    # 31 Jan 2027 is a Sunday; 28 Feb a Sunday; 31 May a Monday. Weekends never count.
    assert days[:3] == ["2027-01-27", "2027-01-28", "2027-01-29"]
    assert days[3:6] == ["2027-02-24", "2027-02-25", "2027-02-26"]
    assert days[-3:] == ["2027-05-27", "2027-05-28", "2027-05-31"]
    assert len(days) == 15
    assert all(o.start.weekday() < 5 for o in found)
    assert all(o.end - o.start == timedelta(days=1) for o in found)


def test_recurrence_until_is_honoured_inclusively(db):
    daily = window(
        "Daily stand-down",
        local(2027, 1, 4, 10, zone="UTC"),
        local(2027, 1, 4, 11, zone="UTC"),
        rrule="FREQ=DAILY",
        recurrence_until=local(2027, 1, 7, 10, zone="UTC"),
    )
    found = occurrences(daily, local(2027, 1, 1, zone="UTC"), local(2027, 2, 1, zone="UTC"))
    assert [o.start.day for o in found] == [4, 5, 6, 7]
    assert windows_at(local(2027, 1, 8, 10, 30, zone="UTC")) == []
    assert [o.window for o in windows_at(local(2027, 1, 7, 10, 30, zone="UTC"))] == [daily]


def test_an_rrule_count_is_honoured(db):
    three_times = window(
        "Three Sundays",
        local(2027, 1, 3, 2, zone="UTC"),
        local(2027, 1, 3, 4, zone="UTC"),
        rrule="FREQ=WEEKLY;BYDAY=SU;COUNT=3",
    )
    found = occurrences(three_times, local(2027, 1, 1, zone="UTC"), local(2027, 3, 1, zone="UTC"))
    assert [o.start.day for o in found] == [3, 10, 17]


def test_next_occurrences_start_with_the_one_in_progress(berlin_office_hours):
    during = local(2027, 3, 2, 10, zone="Europe/Berlin")
    found = next_occurrences(berlin_office_hours, during, 3)
    assert [o.start.date().isoformat() for o in found] == ["2027-03-02", "2027-03-03", "2027-03-04"]
    assert found[0].covers(during)


def test_next_occurrences_of_a_window_ending_in_the_past_are_none(db):
    past = window("Old", local(2020, 1, 1, zone="UTC"), local(2020, 1, 2, zone="UTC"))
    assert next_occurrences(past, local(2027, 1, 1, zone="UTC")) == []


def test_a_one_off_window_occurs_once(db):
    once = window("Once", local(2027, 5, 1, zone="UTC"), local(2027, 5, 3, zone="UTC"))
    assert len(occurrences(once, local(2027, 1, 1, zone="UTC"), local(2028, 1, 1, zone="UTC"))) == 1
    assert occurrences(once, local(2027, 5, 3, zone="UTC"), local(2027, 6, 1, zone="UTC")) == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("FREQ=FORTNIGHTLY", "does not parse"),
        ("BYDAY=MO", "needs a frequency"),
        ("FREQ=MONTHLY;BYDAY=XX", "does not parse"),
        ("FREQ=HOURLY", "at most daily"),
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=0", "no occurrence"),
        ("DTSTART:20270101T000000Z\nRRULE:FREQ=DAILY", "Leave DTSTART out"),
    ],
)
def test_a_bad_rrule_is_refused_with_a_clear_message(db, rule, message):
    with pytest.raises(ValidationError) as info:
        window("Bad", local(2027, 1, 1, zone="UTC"), local(2027, 1, 2, zone="UTC"), rrule=rule)
    assert message in " ".join(info.value.message_dict["rrule"])
