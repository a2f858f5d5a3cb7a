"""Two beat schedulers started by mistake (or on purpose, for availability) both send every
periodic job; each job still runs once per period: the run is claimed by (job, period start)
in ``releasemgr.jobs.recorded``. Real beat and worker processes on Redis and PostgreSQL."""

import re
import time
from collections import Counter

import pytest

from metrics.jobs_kpis import JOB_NAME as KPI_JOB
from releasemgr.models import JobRun
from releases.stalls import STALL_MARKER
from tests.jobs.test_stalled_deployments import _running_deployment
from tests.ops.procs import needs_redis_and_postgres, processes, wait_until

pytestmark = needs_redis_and_postgres

STALL_JOB = "flag_stalled_deployments"
STALL_TASK = "releases.tasks.flag_stalled_deployments_task"
PERIODS = {"STALL_CHECK_SECONDS": "2", "KPI_WATCH_SECONDS": "3"}


def sent(log: str, entry: str) -> int:
    return len(re.findall(rf"Sending due task {re.escape(entry)} ", log))


@pytest.mark.django_db(transaction=True)
def test_two_beats_run_each_periodic_job_once_per_period(
    dave, carol, pipeline, environments, tmp_path
):
    stalled = _running_deployment(dave, carol, pipeline, environments, started_hours_ago=9)

    with processes(tmp_path, PERIODS) as procs:
        procs.worker("worker")
        procs.beat("beat-a")
        time.sleep(1.1)  # a different phase: the two beats do not tick together
        procs.beat("beat-b")
        wait_until(
            lambda: sent(procs.log("beat-a"), "flag-stalled-deployments") >= 4
            and sent(procs.log("beat-b"), "flag-stalled-deployments") >= 4,
            timeout=90,
            what="both beats sending the stall check several times",
            interval=0.5,
        )
        for process, _ in procs.started[1:]:
            procs.kill(process)  # the beats: nothing more is sent
        sent_total = sent(procs.log("beat-a"), "flag-stalled-deployments") + sent(
            procs.log("beat-b"), "flag-stalled-deployments"
        )

        def handled():
            log = procs.log("worker")
            return len(re.findall(rf"Task {re.escape(STALL_TASK)}\[[^\]]+\] succeeded", log))

        wait_until(lambda: handled() == sent_total, timeout=60, what="the worker draining")
        worker_log = procs.log("worker")

    runs = JobRun.objects.filter(name=STALL_JOB)
    periods = Counter(runs.values_list("period_start", flat=True))
    skipped = len(
        re.findall(
            rf"Task {re.escape(STALL_TASK)}\[[^\]]+\] succeeded in [0-9.e-]+s: 'skipped", worker_log
        )
    )
    # Every message either ran its period or found it taken: one run per period, no more.
    assert None not in periods
    assert set(periods.values()) == {1}
    assert runs.count() + skipped == sent_total
    assert skipped >= 2, "both beats were effective senders; the duplicates did nothing"
    assert runs.count() >= 3
    assert set(runs.values_list("status", flat=True)) == {JobRun.Status.SUCCEEDED}
    # Periods are the schedule's 2-second steps on the epoch.
    assert all(p.timestamp() % 2 == 0 for p in periods)
    # And the effect of all those runs: the stalled deployment was flagged once.
    assert stalled.events.filter(message__startswith=STALL_MARKER).count() == 1

    kpi_periods = Counter(
        JobRun.objects.filter(name=KPI_JOB).values_list("period_start", flat=True)
    )
    assert kpi_periods and None not in kpi_periods and set(kpi_periods.values()) == {1}
