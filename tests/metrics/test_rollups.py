"""Daily rollups: hand-worked figures, idempotent rebuilds, the job and command, and rollup
totals equal to the same figures computed from the raw rows on random histories."""

import random
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from metrics import rollups
from metrics.models import DailyRollup, DeploymentRecord, Incident, RollupDay
from metrics.periods import Filters
from releasemgr.models import JobRun
from tests.metrics.history_helpers import at, deploy, incident, world


@pytest.fixture
def w(environments):
    return world(environments)


def figures(day, service):
    row = DailyRollup.objects.get(day=day, service=service)
    return {name: getattr(row, name) for name in rollups.COUNTS}


def test_hand_built_history(w):
    api, ledger, search = w["api"], w["ledger"], w["search-svc"]
    prod = w["prod"]
    ok = deploy(api, prod, at("2026-03-02T10:00"))
    deploy(api, prod, at("2026-03-02T12:00"), "failed")
    deploy(ledger, prod, at("2026-03-02T23:59:59"), "rolled_back")
    deploy(api, w["staging"], at("2026-03-02T13:00"))  # not production: not counted
    deploy(api, prod, at("2026-03-03T00:00"))  # midnight belongs to the new day
    # A rollback of a rollback: two rolled-back records of the same service the same day.
    deploy(ledger, prod, at("2026-03-03T09:00"), "rolled_back")
    deploy(ledger, prod, at("2026-03-03T09:30"), "rolled_back")
    incident(api, at("2026-03-03T01:00"), at("2026-03-03T03:30"), record=ok)  # 2.5 h
    incident(search, at("2026-03-03T05:00"))  # no release, no record, still open

    assert rollups.rebuild([date(2026, 3, 2), date(2026, 3, 3)]) == 5
    zero = dict.fromkeys(rollups.COUNTS, 0)
    assert figures(date(2026, 3, 2), api) == {
        **zero,
        "deployments": 2,
        "succeeded": 1,
        "failed": 1,
        "failed_or_attributed": 2,
    }
    assert figures(date(2026, 3, 2), ledger) == {
        **zero,
        "deployments": 1,
        "rolled_back": 1,
        "failed_or_attributed": 1,
    }
    assert figures(date(2026, 3, 3), api) == {
        **zero,
        "deployments": 1,
        "succeeded": 1,
        "incidents_started": 1,
        "incidents_resolved": 1,
        "restore_seconds_sum": 9000.0,
    }
    assert figures(date(2026, 3, 3), ledger) == {
        **zero,
        "deployments": 2,
        "rolled_back": 2,
        "failed_or_attributed": 2,
    }
    assert figures(date(2026, 3, 3), search) == {**zero, "incidents_started": 1}
    assert DailyRollup.objects.get(day=date(2026, 3, 3), service=search).team == w["search"]

    payments = Filters(team=w["payments"], since=date(2026, 3, 2), until=date(2026, 3, 4))
    assert rollups.totals(payments) == {
        "deployments": 6,
        "succeeded": 2,
        "failed": 1,
        "rolled_back": 3,
        "failed_or_attributed": 5,
        "incidents_started": 1,
        "incidents_resolved": 1,
        "restore_seconds_sum": 9000.0,
    }
    # until is exclusive
    only_first = Filters(since=date(2026, 3, 2), until=date(2026, 3, 3))
    assert rollups.totals(only_first)["deployments"] == 3
    assert (
        rollups.totals(Filters(domain="find", since=date(2026, 3, 1), until=date(2026, 4, 1)))[
            "incidents_started"
        ]
        == 1
    )


def test_no_deployments_gives_zeros_not_errors(w):
    assert rollups.rebuild([date(2026, 3, 2)]) == 0
    assert rollups.totals(Filters(since=date(2026, 3, 1), until=date(2026, 4, 1))) == dict.fromkeys(
        rollups.COUNTS, 0
    )
    assert RollupDay.objects.get(day=date(2026, 3, 2)).dirty is False


def test_days_are_utc_whatever_the_time_zone_and_dst(w, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # DST starts 2026-03-29 01:00 UTC
    deploy(w["api"], w["prod"], at("2026-03-28T23:30"))  # 00:30 local on the 29th
    deploy(w["api"], w["prod"], at("2026-03-29T22:30"))  # 00:30 local (CEST) on the 30th
    rollups.rebuild([date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)])
    assert dict(DailyRollup.objects.values_list("day", "deployments")) == {
        date(2026, 3, 28): 1,
        date(2026, 3, 29): 1,
    }


def test_rebuild_is_idempotent_and_follows_changes(w):
    record = deploy(w["api"], w["prod"], at("2026-03-02T10:00"))
    day = date(2026, 3, 2)
    rollups.rebuild([day])
    rollups.rebuild([day])
    assert DailyRollup.objects.count() == 1
    assert figures(day, w["api"])["deployments"] == 1
    record.delete()
    rollups.rebuild([day])
    assert DailyRollup.objects.count() == 0


def test_job_rebuilds_dirty_recent_and_touched_days(w, settings):
    from metrics.jobs_rollups import refresh_rollups

    deploy(w["api"], w["prod"], at("2024-06-01T10:00"))
    assert "first run: all history" in refresh_rollups()
    assert DailyRollup.objects.get(day=date(2024, 6, 1)).deployments == 1

    old = deploy(w["api"], w["prod"], at("2025-01-10T10:00"))
    rollups.mark_dirty([date(2025, 1, 10)])
    assert "1 dirty" in refresh_rollups()
    assert DailyRollup.objects.get(day=date(2025, 1, 10)).deployments == 1
    assert not RollupDay.objects.filter(dirty=True).exists()
    assert JobRun.objects.filter(name="metrics_rollups", status="succeeded").count() == 2

    # Changed after the last run: an incident attributed to the old record.
    incident(w["api"], at("2025-01-10T11:00"), at("2025-01-10T12:00"), record=old)
    refresh_rollups()
    assert figures(date(2025, 1, 10), w["api"])["failed_or_attributed"] == 1
    assert figures(date(2025, 1, 10), w["api"])["incidents_resolved"] == 1


def test_job_finds_a_change_written_before_its_previous_run_started(w, settings):
    # A row written by a transaction still open when the previous run started (a long import)
    # has an ``updated`` earlier than that run: the overlap margin still finds its day.
    # (The real race with two connections: test_rollups_concurrency.py, PostgreSQL.)
    from datetime import timedelta

    from metrics.jobs_rollups import refresh_rollups

    def written_before_the_previous_run(row, minutes):
        previous = JobRun.objects.filter(name="metrics_rollups").order_by("-started_at")[0]
        # update() leaves ``updated`` as given (auto_now applies to save() only)
        type(row).objects.filter(pk=row.pk).update(
            updated=previous.started_at - timedelta(minutes=minutes)
        )

    old = deploy(w["api"], w["prod"], at("2024-06-01T10:00"))
    refresh_rollups()
    written_before_the_previous_run(old, 600)
    late = incident(w["api"], at("2024-06-01T10:05"), record=old)
    written_before_the_previous_run(late, 5)

    settings.ROLLUP_CHANGE_OVERLAP_SECONDS = 60
    refresh_rollups()
    assert figures(date(2024, 6, 1), w["api"])["failed_or_attributed"] == 0  # outside the margin

    written_before_the_previous_run(late, 5)
    settings.ROLLUP_CHANGE_OVERLAP_SECONDS = 3600
    refresh_rollups()
    assert figures(date(2024, 6, 1), w["api"])["failed_or_attributed"] == 1


def test_rebuild_rollups_command(w, capsys):
    deploy(w["api"], w["prod"], at("2026-03-02T10:00"))
    deploy(w["api"], w["prod"], at("2026-01-02T10:00"))
    call_command("rebuild_rollups", "--since", "2026-03-01")
    assert list(DailyRollup.objects.values_list("day", flat=True)) == [date(2026, 3, 2)]
    call_command("rebuild_rollups")
    assert DailyRollup.objects.count() == 2
    assert "rollup rows" in capsys.readouterr().out


def test_rebuild_rollups_command_rejects_a_bad_date(w):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("rebuild_rollups", "--since", "March")
    assert DailyRollup.objects.count() == 0


def raw_totals(filters):
    """The same figures from the raw rows, the slow obvious way."""

    def in_scope(service):
        return (
            (filters.team is None or service.team_id == filters.team.pk)
            and (filters.service is None or service.pk == filters.service.pk)
            and (not filters.domain or service.domain == filters.domain)
        )

    records = [
        r
        for r in DeploymentRecord.objects.select_related("service")
        if r.is_production
        and filters.since_dt <= r.finished_at < filters.until_dt
        and in_scope(r.service)
    ]
    attributed = set(
        Incident.objects.filter(deployment_record__isnull=False).values_list(
            "deployment_record_id", flat=True
        )
    )
    incidents = [
        i
        for i in Incident.objects.select_related("service")
        if filters.since_dt <= i.started_at < filters.until_dt and in_scope(i.service)
    ]
    resolved = [i for i in incidents if i.resolved_at]
    return {
        "deployments": len(records),
        "succeeded": sum(r.status == "succeeded" for r in records),
        "failed": sum(r.status == "failed" for r in records),
        "rolled_back": sum(r.status == "rolled_back" for r in records),
        "failed_or_attributed": sum(r.status != "succeeded" or r.pk in attributed for r in records),
        "incidents_started": len(incidents),
        "incidents_resolved": len(resolved),
        "restore_seconds_sum": sum(
            (i.resolved_at - i.started_at).total_seconds() for i in resolved
        ),
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollup_totals_equal_raw_figures_on_random_histories(w, seed):
    rng = random.Random(seed)
    services = [w["api"], w["ledger"], w["search-svc"]]
    start = at("2026-01-01T00:00")
    records = []
    for _ in range(120):
        when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 70))
        env = w["prod"] if rng.random() < 0.8 else w["staging"]
        status = rng.choice(["succeeded"] * 4 + ["failed", "rolled_back"])
        records.append(deploy(rng.choice(services), env, when, status))
    for _ in range(40):
        began = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 70))
        resolved = began + timedelta(minutes=rng.randrange(1, 600)) if rng.random() < 0.7 else None
        record = rng.choice(records) if rng.random() < 0.5 else None
        incident(rng.choice(services), began, resolved, record=record)
    rollups.rebuild_all(date(2026, 1, 1))

    for since, until, extra in [
        (date(2026, 1, 1), date(2026, 3, 20), {}),
        (date(2026, 1, 15), date(2026, 2, 10), {"team": w["payments"]}),
        (date(2026, 2, 1), date(2026, 3, 1), {"service": w["ledger"]}),
        (date(2026, 1, 3), date(2026, 3, 5), {"domain": "find"}),
    ]:
        filters = Filters(since=since, until=until, **extra)
        got = rollups.totals(filters)
        want = raw_totals(filters)
        assert got["restore_seconds_sum"] == pytest.approx(want.pop("restore_seconds_sum"))
        got.pop("restore_seconds_sum")
        assert got == want
