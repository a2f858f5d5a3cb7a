"""Celery tasks of the metrics app (Celery discovers ``<app>.tasks``).

Each area keeps its jobs in ``metrics/jobs_<area>.py``; import them here, one line per area.
"""
