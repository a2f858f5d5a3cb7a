"""Celery tasks of the governance app (Celery discovers ``<app>.tasks``).

Each area keeps its job in ``governance/jobs_<area>.py``; import it here.
"""

from governance.jobs_changes import notify_overdue_retrospectives_task  # noqa: F401
from governance.jobs_defects import escalate_defects_task  # noqa: F401
from governance.jobs_evidence import build_evidence_pack  # noqa: F401
