"""Rollup rebuilds racing each other: two manual rebuilds, overlapping spans, the periodic job
and ``rebuild_rollups`` at once, and the job racing a long import transaction. Every (day,
service) row must still equal the figures computed from the raw rows: nothing counted twice, no
day lost, no IntegrityError or deadlock escaping.

Real threads, connections and row locks, so this needs PostgreSQL (SQLite serialises whole-
database writes and would prove nothing about ``select_for_update`` or ``ON CONFLICT``).
"""

import io
import random
import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from metrics import rollups
from metrics.jobs_rollups import JOB_NAME, refresh_rollups
from metrics.models import DailyRollup, DeploymentRecord, Incident, RollupDay
from releasemgr.models import JobRun
from tests.concurrency import race
from tests.metrics.history_helpers import deploy, incident, world

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL row locks; run with DATABASE_URL=postgres://...",
    ),
]

ROUNDS = 3  # a missing lock loses the race only some of the time; race a few times


def assert_all_ok(outcomes):
    failures = [repr(value) for kind, value in outcomes if kind != "ok"]
    assert not failures, failures


@pytest.fixture
def w(environments):
    return world(environments)


def random_history(w, rng, first: date, days: int, deployments=150, incidents=50):
    """Production and staging deployments and incidents spread over ``days`` UTC days."""
    services = [w["api"], w["ledger"], w["search-svc"]]
    start = datetime.combine(first, time.min, tzinfo=UTC)
    records = []
    for _ in range(deployments):
        when = start + timedelta(minutes=rng.randrange(0, 60 * 24 * days))
        env = w["prod"] if rng.random() < 0.8 else w["staging"]
        status = rng.choice(["succeeded"] * 4 + ["failed", "rolled_back"])
        records.append(deploy(rng.choice(services), env, when, status))
    for _ in range(incidents):
        began = start + timedelta(minutes=rng.randrange(0, 60 * 24 * days))
        resolved = began + timedelta(minutes=rng.randrange(1, 600)) if rng.random() < 0.7 else None
        record = rng.choice(records) if rng.random() < 0.5 else None
        incident(rng.choice(services), began, resolved, record=record)


def raw_by_day():
    """Per (UTC day, service) figures from the raw rows, the slow obvious way."""
    out: dict[tuple, Counter] = {}
    attributed = set(
        Incident.objects.filter(deployment_record__isnull=False).values_list(
            "deployment_record_id", flat=True
        )
    )
    for r in DeploymentRecord.objects.filter(is_production=True):
        c = out.setdefault((r.finished_at.astimezone(UTC).date(), r.service_id), Counter())
        c["deployments"] += 1
        c[r.status] += 1
        c["failed_or_attributed"] += r.status != "succeeded" or r.pk in attributed
    for i in Incident.objects.all():
        c = out.setdefault((i.started_at.astimezone(UTC).date(), i.service_id), Counter())
        c["incidents_started"] += 1
        if i.resolved_at:
            c["incidents_resolved"] += 1
            c["restore_seconds_sum"] += (i.resolved_at - i.started_at).total_seconds()
    return {
        key: {name: c[name] for name in rollups.COUNTS}
        for key, c in out.items()
        if any(c[name] for name in rollups.COUNTS)
    }


def rolled_up_by_day(first: date | None = None, last: date | None = None):
    qs = DailyRollup.objects.all()
    if first:
        qs = qs.filter(day__gte=first, day__lte=last)
    return {
        (row.day, row.service_id): {name: getattr(row, name) for name in rollups.COUNTS}
        for row in qs
    }


def assert_rollups_equal_raw(first: date | None = None, last: date | None = None):
    want = raw_by_day()
    if first:
        want = {key: value for key, value in want.items() if first <= key[0] <= last}
    got = rolled_up_by_day(first, last)
    assert sorted(got) == sorted(want), "a day is missing or extra"
    for key, figures in want.items():
        assert got[key]["restore_seconds_sum"] == pytest.approx(figures["restore_seconds_sum"])
        assert {**got[key], "restore_seconds_sum": 0} == {**figures, "restore_seconds_sum": 0}, key


def span(first: date, days: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(days)]


@pytest.mark.django_db(transaction=True)
def test_two_rebuilds_of_new_days_at_once_count_every_day_once(w):
    # New days each round: both rebuilds insert the same RollupDay lock rows at the same moment.
    for n in range(ROUNDS):
        first = date(2021 + n, 2, 1)
        random_history(w, random.Random(n), first, days=40)
        days = span(first, 40)

        assert_all_ok(race(lambda d=days: rollups.rebuild(d), lambda d=days: rollups.rebuild(d)))

        assert_rollups_equal_raw(first, days[-1])
        assert RollupDay.objects.filter(day__in=days).count() == 40
        assert not RollupDay.objects.filter(day__in=days, dirty=True).exists()


@pytest.mark.django_db(transaction=True)
def test_overlapping_rebuilds_with_gaps_at_once_count_every_day_once(w):
    # Different, overlapping sets of days split into several runs (several transactions each),
    # so the lock rows are taken in many interleavings.
    for n in range(ROUNDS):
        first = date(2021 + n, 6, 1)
        random_history(w, random.Random(10 + n), first, days=60)
        evens = [d for i, d in enumerate(span(first, 60)) if i % 3 != 1]
        middle = span(first + timedelta(days=15), 30)
        odds = [d for i, d in enumerate(span(first, 60)) if i % 3 != 2]

        assert_all_ok(
            race(
                lambda d=evens: rollups.rebuild(d),
                lambda d=middle: rollups.rebuild(d),
                lambda d=odds: rollups.rebuild(d),
            )
        )

        assert_rollups_equal_raw(first, first + timedelta(days=59))


@pytest.mark.django_db(transaction=True)
def test_two_rebuild_rollups_commands_at_once_leave_the_figures_of_the_raw_rows(w):
    first = datetime.now(UTC).date() - timedelta(days=90)
    random_history(w, random.Random(7), first, days=90, deployments=250, incidents=80)
    for _ in range(ROUNDS):
        outs = [io.StringIO(), io.StringIO()]
        assert_all_ok(
            race(
                lambda o=outs[0]: call_command("rebuild_rollups", stdout=o),
                lambda o=outs[1]: call_command(
                    "rebuild_rollups", "--since", str(first + timedelta(days=30)), stdout=o
                ),
            )
        )
        assert all("rollup rows rebuilt" in out.getvalue() for out in outs)
        assert_rollups_equal_raw()


@pytest.mark.django_db(transaction=True)
def test_the_job_and_a_manual_rebuild_at_once_leave_the_figures_of_the_raw_rows(w):
    rng = random.Random(3)
    first = datetime.now(UTC).date() - timedelta(days=120)
    random_history(w, rng, first, days=120, deployments=250, incidents=80)

    # The first job run (a full rebuild) racing a manual full rebuild.
    assert_all_ok(
        race(refresh_rollups, lambda: call_command("rebuild_rollups", stdout=io.StringIO()))
    )
    assert_rollups_equal_raw()

    for n in range(ROUNDS):
        # History changes between runs: old days the job finds by ``updated`` (an incident
        # attributed to an old record) and new rows on recent days.
        old = DeploymentRecord.objects.filter(
            is_production=True, finished_at__date__lt=first + timedelta(days=60)
        ).order_by("?")[0]
        incident(old.service, old.finished_at + timedelta(minutes=5), record=old)
        random_history(
            w,
            rng,
            datetime.now(UTC).date() - timedelta(days=2),
            days=3,
            deployments=20,
            incidents=5,
        )

        assert_all_ok(
            race(
                refresh_rollups,
                lambda: call_command("rebuild_rollups", stdout=io.StringIO()),
                refresh_rollups,
            )
        )
        assert_rollups_equal_raw()
        runs = JobRun.objects.filter(name=JOB_NAME)
        assert runs.filter(status=JobRun.Status.SUCCEEDED).count() == 1 + 2 * (n + 1)
        assert not runs.exclude(status=JobRun.Status.SUCCEEDED).exists()


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_after_the_job_started_is_rolled_up_by_the_next_run(w):
    # An import is one long transaction: its rows' ``updated`` is earlier than a job run that
    # starts before it commits, and that run cannot see them. The next run must still find
    # them, though its watermark (the previous run's start) is later than their ``updated``.
    old = deploy(w["api"], w["prod"], datetime(2024, 5, 6, 10, 0, tzinfo=UTC))
    refresh_rollups()  # the first run: everything, and the watermark
    assert rolled_up_by_day()[(date(2024, 5, 6), w["api"].pk)]["failed_or_attributed"] == 0

    written, job_done = threading.Event(), threading.Event()

    def importer():
        with transaction.atomic():
            incident(w["api"], old.finished_at + timedelta(minutes=5), record=old)
            written.set()
            assert job_done.wait(timeout=30)
        return "committed"

    def job():
        assert written.wait(timeout=30)
        try:
            return refresh_rollups()
        finally:
            job_done.set()

    assert_all_ok(race(importer, job))
    refresh_rollups()

    assert rolled_up_by_day()[(date(2024, 5, 6), w["api"].pk)]["failed_or_attributed"] == 1
    assert_rollups_equal_raw()
