"""Celery tasks of the metrics app (Celery discovers ``<app>.tasks``).

Each area keeps its jobs in ``metrics/jobs_<area>.py``; import them here, one line per area.
"""

from metrics.jobs_kpis import kpi_watch_task  # noqa: F401,E402
from metrics.jobs_postmortems import overdue_actions_task  # noqa: F401,E402
from metrics.jobs_quality import quality_scores_task  # noqa: F401,E402
from metrics.jobs_rollups import refresh_rollups_task  # noqa: F401,E402
