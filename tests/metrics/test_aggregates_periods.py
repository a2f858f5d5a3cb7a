"""The shared percentile helper and the metrics filters."""

import statistics
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db.models import F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metrics.aggregates import MEDIAN, P90, median_p90_hours, percentiles
from metrics.models import DeploymentRecord
from metrics.periods import InvalidFilters, parse_filters

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _records(service, env, durations_minutes):
    DeploymentRecord.objects.all().delete()
    DeploymentRecord.objects.bulk_create(
        [
            DeploymentRecord(
                service=service,
                team=service.team,
                environment=env,
                is_production=True,
                status="succeeded",
                started_at=T0,
                finished_at=T0 + timedelta(minutes=m),
            )
            for m in durations_minutes
        ]
    )


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.integers(min_value=0, max_value=100_000), min_size=2, max_size=30))
def test_percentiles_equal_statistics_quantiles_inclusive(payments, environments, sample):
    _records(payments, environments["production"], sample)
    found = percentiles(DeploymentRecord.objects.all(), F("finished_at") - F("started_at"))
    cuts = statistics.quantiles(sample, n=10, method="inclusive")
    assert abs(found[MEDIAN].total_seconds() / 60 - statistics.median(sample)) < 1e-6
    assert abs(found[MEDIAN].total_seconds() / 60 - cuts[4]) < 1e-6
    assert abs(found[P90].total_seconds() / 60 - cuts[8]) < 1e-6
    # durations too: finished_at - started_at, in hours
    got = median_p90_hours(
        DeploymentRecord.objects.all(),
        F("finished_at") - F("started_at"),
    )
    # hours are rounded to 2 decimals (a half may round either way in binary floating point)
    assert abs(got["median"] - cuts[4] / 60) <= 0.005 + 1e-9
    assert abs(got["p90"] - cuts[8] / 60) <= 0.005 + 1e-9


@pytest.mark.django_db
def test_percentiles_of_nothing_are_none_and_of_one_value_that_value(payments, environments):
    assert percentiles(DeploymentRecord.objects.all(), "pk") == {MEDIAN: None, P90: None}
    _records(payments, environments["production"], [90])
    assert median_p90_hours(DeploymentRecord.objects.all(), F("finished_at") - F("started_at")) == {
        "median": 1.5,
        "p90": 1.5,
    }


@pytest.mark.django_db
def test_percentiles_read_a_bounded_number_of_rows(
    payments, environments, django_assert_max_num_queries
):
    _records(payments, environments["production"], range(500))
    with django_assert_max_num_queries(3):
        percentiles(DeploymentRecord.objects.all(), F("finished_at") - F("started_at"))


@pytest.mark.django_db
def test_default_period_is_the_last_90_days_including_today(payments):
    f = parse_filters({})
    assert f.days == 90
    assert f.until == datetime.now(UTC).date() + timedelta(days=1)
    assert f.team is None and f.service is None and f.domain == ""


@pytest.mark.django_db
def test_filters_resolve_team_service_and_domain(payments):
    payments.domain = "money"
    payments.save()
    f = parse_filters(
        {
            "team": "payments",
            "service": "payments-api",
            "domain": "money",
            "since": "2026-03-01",
            "until": "2026-04-01",
        }
    )
    assert (f.team, f.service, f.domain) == (payments.team, payments, "money")
    assert (f.since, f.until, f.days) == (date(2026, 3, 1), date(2026, 4, 1), 31)
    assert f.since_dt == datetime(2026, 3, 1, tzinfo=UTC)
    assert f.weeks == 31 / 7


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"since": "2026-03-10", "until": "2026-03-01"}, "until", "before it starts"),
        (
            {"since": "2026-03-10", "until": "2026-03-10"},
            "until",
            "The period is empty: 'until' (2026-03-10) must be a later day than 'since' "
            "(2026-03-10)",
        ),
        ({"since": "10/03/2026"}, "since", "YYYY-MM-DD"),
        ({"team": "ghosts"}, "team", "No team 'ghosts'"),
        ({"service": "nope"}, "service", "No service 'nope'"),
        ({"domain": "atlantis"}, "domain", "domain 'atlantis'"),
    ],
)
def test_bad_filters_say_what_is_wrong(payments, params, field, words):
    with pytest.raises(InvalidFilters) as caught:
        parse_filters(params)
    assert words in " ".join(caught.value.field_errors()[field])
    assert caught.value.status_code == 400
