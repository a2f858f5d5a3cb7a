"""DORA, MTTR and success rate on the hand-built history of tests/metrics/dora_history.py
(the worked example of docs/metrics.md); each expected number is worked out beside it."""

from datetime import date, datetime, timedelta

import pytest

from metrics.dora import dora, dora_trend, rows
from metrics.models import DeploymentRecord
from metrics.mttr import mttr
from metrics.periods import InvalidFilters, parse_filters
from metrics.success_rate import success_rate
from tests.metrics.dora_history import SINCE, UNTIL, build, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(db):
    return build()


def f(**kw):
    return parse_filters({"since": SINCE, "until": UNTIL, **kw})


def test_dora_for_all_teams_matches_the_worked_example(history):
    assert dora(f()) == {
        # D1..D7 and S1 (staging and the 02-27 record are out)
        "deployments": 8,
        # succeeded D1 D3 D4 D7 S1 = 5, over 14 days = 2 weeks
        "deployment_frequency_per_week": 2.5,
        # per commit: c1 24, c2 4, c3 6 (first success D3), c4 24, c5 8 (first success D7),
        # c6 12 -> sorted 4 6 8 12 24 24; median = (8+12)/2 = 10; p90 at rank 4.5 = 24
        "lead_time_hours": {"median": 10.0, "p90": 24.0},
        # D2 failed, D5 D6 rolled back, D4 has incident I1 -> 4 of 8
        "change_failure_rate": 0.5,
        # resolved incidents started in the period: I1 3 h, I2 1 h (no release) ->
        # median 2, p90 = 1 + 0.9 * (3 - 1) = 2.8
        "time_to_restore_hours": {"median": 2.0, "p90": 2.8},
        # D2 -> D3 2 h, D5 -> D7 5 h, D6 (rollback of the rollback) -> D7 4 h:
        # sorted 2 4 5; median 4; p90 at rank 1.8 = 4 + 0.8 * 1 = 4.8
        "failed_deployment_recovery_hours": {"median": 4.0, "p90": 4.8},
    }


def test_dora_for_one_team_and_for_a_domain(history):
    team = dora(f(team="payments"))
    # 7 records, 4 succeeded; lead times 4 6 8 24 24 -> median 8, p90 at rank 3.6 = 24
    assert team["deployments"] == 7
    assert team["deployment_frequency_per_week"] == 2.0
    assert team["lead_time_hours"] == {"median": 8.0, "p90": 24.0}
    assert team["change_failure_rate"] == round(4 / 7, 4)
    assert team["time_to_restore_hours"] == {"median": 3.0, "p90": 3.0}
    assert dora(f(domain="money")) == team
    assert dora(f(service="payments-api")) == team
    discovery = dora(f(domain="discovery"))
    assert discovery["deployments"] == 1
    assert discovery["change_failure_rate"] == 0.0
    assert discovery["failed_deployment_recovery_hours"] == {"median": None, "p90": None}


def test_a_period_without_deployments_gives_zero_and_nulls(history):
    assert dora(parse_filters({"since": "2026-05-04", "until": "2026-05-11"})) == {
        "deployments": 0,
        "deployment_frequency_per_week": 0.0,
        "lead_time_hours": {"median": None, "p90": None},
        "change_failure_rate": None,
        "time_to_restore_hours": {"median": None, "p90": None},
        "failed_deployment_recovery_hours": {"median": None, "p90": None},
    }
    assert mttr(parse_filters({"since": "2026-05-04", "until": "2026-05-11"}))["failures"] == 0
    assert (
        success_rate(parse_filters({"since": "2026-05-04", "until": "2026-05-11"}))["success_rate"]
        is None
    )


def test_mttr_after_failed_releases(history):
    assert mttr(f()) == {
        # D2 (detected at its finish 03-03 12:00, D3 at 14:00: 2 h), D4 (detected when I1
        # started 03-05 10:00; next success D7 03-09 15:00: 101 h), D5 5 h, D6 4 h
        "failures": 4,
        "recovered": 4,
        "not_recovered": 0,
        # sorted 2 4 5 101: median (4+5)/2 = 4.5; p90 at rank 2.7 = 5 + 0.7 * 96 = 72.2
        "time_to_recover_hours": {"median": 4.5, "p90": 72.2},
    }


def test_release_success_rate(history):
    # R1 clean; R2 had a failed deployment; R3 a critical incident; R4 rollbacks; R5 clean
    # (search's incident I2 is medium and attributed to no release) -> 2 of 5
    assert success_rate(f()) == {"releases": 5, "successful": 2, "success_rate": 0.4}
    assert success_rate(f(team="search")) == {"releases": 1, "successful": 1, "success_rate": 1.0}


def test_drill_down_lists_the_rows_behind_each_figure(history):
    d = history["d"]
    assert {r.pk for r in rows(f(), "change_failure")} == {d[2].pk, d[4].pk, d[5].pk, d[6].pk}
    lead = {(c.sha, round(c.lead_time.total_seconds() / 3600, 2)) for c in rows(f(), "lead_time")}
    assert lead == {("c1", 24), ("c2", 4), ("c3", 6), ("c4", 24), ("c5", 8), ("c6", 12)}
    assert sorted(i.title for i in rows(f(), "time_to_restore")) == ["I1", "I2"]
    recovery = {r.pk: r.recovery.total_seconds() / 3600 for r in rows(f(), "recovery")}
    assert recovery == {d[2].pk: 2, d[5].pk: 5, d[6].pk: 4}
    with pytest.raises(InvalidFilters, match="detail"):
        rows(f(), "nonsense")


def test_a_failure_not_yet_recovered_counts_but_has_no_duration(history):
    record(
        history["search"], history["prod"], "failed", history["d"]["s1"].finished_at.replace(day=14)
    )
    m = mttr(f(team="search"))
    assert (m["failures"], m["recovered"], m["not_recovered"]) == (1, 0, 1)
    assert m["time_to_recover_hours"] == {"median": None, "p90": None}
    assert dora(f(team="search"))["change_failure_rate"] == 0.5


@pytest.mark.parametrize(
    ("failed_at", "recovered_at", "hours", "failure_utc_day"),
    [
        # Europe/Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST: 00:30 to 03:30 on
        # the wall clock is 2 real hours (23:30 UTC on the 28th to 01:30 UTC on the 29th)
        ("2026-03-29T00:30:00+01:00", "2026-03-29T03:30:00+02:00", 2.0, "2026-03-28"),
        # and falls back 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 to 02:30 is one real hour
        ("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", 1.0, "2026-10-25"),
    ],
)
def test_periods_spanning_dst_count_real_hours_and_utc_days(
    history, failed_at, recovered_at, hours, failure_utc_day
):
    pay, prod = history["pay"], history["prod"]
    record(pay, prod, "failed", datetime.fromisoformat(failed_at))
    record(pay, prod, "succeeded", datetime.fromisoformat(recovered_at))
    day = date.fromisoformat(failure_utc_day)
    spanning = parse_filters({"since": str(day - timedelta(1)), "until": str(day + timedelta(2))})
    figures = dora(spanning)
    assert figures["deployments"] == 2
    assert figures["failed_deployment_recovery_hours"] == {"median": hours, "p90": hours}
    # Periods are UTC days: the failure belongs to its UTC day, whatever Berlin's clock said
    # (in March it is the 28th in UTC though the 29th in Berlin).
    same_day = dora(parse_filters({"since": str(day), "until": str(day + timedelta(1))}))
    assert same_day["change_failure_rate"] is not None
    next_day = parse_filters({"since": str(day + timedelta(1)), "until": str(day + timedelta(2))})
    assert dora(next_day)["deployments"] == (1 if failure_utc_day == "2026-03-28" else 0)


def test_weekly_trend_buckets_by_utc_date(history):
    trend = dora_trend(f(), "week")
    assert [(str(b["start"]), str(b["end"])) for b in trend] == [
        ("2026-03-02", "2026-03-09"),
        ("2026-03-09", "2026-03-16"),
    ]
    # week 1: D1 D2 D3 D4 (3 succeeded), CFR D2 + D4 = 2/4; week 2: D5 D6 D7 S1 (2 succeeded)
    assert [b["deployments"] for b in trend] == [4, 4]
    assert [b["deployment_frequency_per_week"] for b in trend] == [3.0, 2.0]
    assert [b["change_failure_rate"] for b in trend] == [0.5, 0.5]
    month = dora_trend(parse_filters({"since": "2026-02-15", "until": "2026-04-10"}), "month")
    assert [(str(b["start"]), str(b["end"])) for b in month] == [
        ("2026-02-15", "2026-03-01"),
        ("2026-03-01", "2026-04-01"),
        ("2026-04-01", "2026-04-10"),
    ]
    assert month[0]["deployments"] == 1  # the 02-27 failure


def test_figures_use_a_fixed_number_of_queries(history, django_assert_max_num_queries):
    pay, prod = history["pay"], history["prod"]
    for n in range(60):
        record(
            pay,
            prod,
            "failed" if n % 3 else "succeeded",
            history["d"][1].finished_at.replace(hour=n % 24, minute=n),
            commits=[(f"x{n}", history["d"][1].finished_at.replace(hour=0))],
        )
    assert DeploymentRecord.objects.count() > 60
    with django_assert_max_num_queries(12):
        dora(f())
    with django_assert_max_num_queries(6):
        mttr(f())
    with django_assert_max_num_queries(2):
        success_rate(f())
