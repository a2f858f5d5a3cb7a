"""Celery tasks of the governance app (Celery discovers ``<app>.tasks``).

Each area keeps its job in ``governance/jobs_<area>.py``; import it here.
"""
