"""The Celery job that builds an evidence pack (``governance.evidence_build``)."""

from celery import shared_task

from governance.evidence_build import build_pack
from releasemgr.jobs import is_redelivery, recorded

JOB_NAME = "build_evidence_pack"


@shared_task(acks_late=True)
def build_evidence_pack(pack_id: int) -> str:
    """Build one pack. Safe to run twice: only the worker that claims the pack builds it.

    Not retried automatically: a failure is recorded on the pack (status failed, error) and
    in the job runs; the person asks for a new pack.
    """

    def run():
        # A redelivered message (its worker died mid-build) takes its running pack back.
        pack = build_pack(pack_id, retake=is_redelivery())
        return f"pack {pack.pk} {pack.status} {pack.progress}%"

    return recorded(JOB_NAME)(run)()
