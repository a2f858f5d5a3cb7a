"""A worker killed with SIGKILL in the middle of a batch of jobs: after a new worker has run
what was left (Redis re-delivers the unacknowledged message), every job's effect happened
exactly once. Real processes, Redis and PostgreSQL (CI has both)."""

import time

import pytest

from governance import evidence
from governance.choices import EvidenceStatus
from governance.jobs_evidence import JOB_NAME, build_evidence_pack
from governance.models import EvidencePack
from releasemgr.models import JobRun
from tests.ops.procs import VISIBILITY_TIMEOUT, needs_redis_and_postgres, processes, wait_until

pytestmark = needs_redis_and_postgres

N = 8


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_jobs_survives_a_killed_worker_and_each_has_its_effect_once(
    draft_release, audrey, tmp_path, settings
):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    packs = []
    for _ in range(N):
        pack = EvidencePack(release=draft_release, requested_by=audrey)
        pack.save_with_reason("requested", user=audrey)
        packs.append(pack.pk)
    building = EvidencePack.objects.filter(pk__in=packs)

    with processes(tmp_path, {"EVIDENCE_DIR": str(settings.EVIDENCE_DIR)}) as procs:
        first = procs.worker("first")
        procs.send(build_evidence_pack, [(pk,) for pk in packs])
        # Kill it while it builds one: at least one pack done and the next one in progress.
        wait_until(
            lambda: building.filter(status=EvidenceStatus.READY).exists()
            and building.filter(status=EvidenceStatus.RUNNING).exists(),
            timeout=90,
            what="the first worker building its second pack",
            interval=0.02,
        )
        procs.kill(first)
        interrupted = list(
            building.filter(status=EvidenceStatus.RUNNING).values_list("pk", flat=True)
        )
        done_before = building.filter(status=EvidenceStatus.READY).count()
        assert interrupted, "the kill should land while a pack is being built"
        assert done_before < N

        # Redis hands an unacknowledged message out again once its visibility timeout has
        # passed; a starting worker restores such messages at once (kombu's on_poll_init),
        # a running one only every ~100 s. Start the new worker after the timeout, as a
        # supervisor restarting a crashed worker would.
        time.sleep(VISIBILITY_TIMEOUT + 1)
        procs.worker("second")
        wait_until(
            lambda: building.filter(status=EvidenceStatus.READY).count() == N,
            timeout=120,
            what=f"all {N} packs built after the restart ({procs.log('second')[-2000:]})",
            interval=0.5,
        )
        wait_until(
            lambda: not JobRun.objects.filter(name=JOB_NAME, status="running").exists(),
            timeout=30,
            what="every run finished",
        )

    # Exactly once: one archive per pack, one "built" history row per pack, one run per message.
    for pack in building:
        assert pack.status == EvidenceStatus.READY
        assert pack.history.filter(history_change_reason__startswith="built").count() == 1
        assert evidence.archive_path(pack).exists()
    assert len(list(settings.EVIDENCE_DIR.glob("*.zip"))) == N
    runs = JobRun.objects.filter(name=JOB_NAME)
    assert runs.count() == N
    assert set(runs.values_list("status", flat=True)) == {JobRun.Status.SUCCEEDED}
    # The interrupted message was delivered again and its run taken over by the new worker.
    retaken = runs.filter(attempt=2)
    assert retaken.count() == len(interrupted) == 1
    assert retaken.get().hostname.startswith("second@")
    assert runs.filter(hostname__startswith="first@").count() == done_before
