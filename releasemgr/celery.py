import os

from celery import Celery
from celery.signals import beat_init, before_task_publish

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasemgr.settings")

app = Celery("releasemgr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["releasemgr"], related_name="tasks_notify")


@beat_init.connect
def _stamp_periods_from_this_beat(sender=None, **kwargs):
    """In a beat process only: every message it sends carries the start of its period, so the
    worker runs a periodic job once per period even when two beats are running
    (``releasemgr.jobs``)."""
    from releasemgr.jobs import stamp_period

    before_task_publish.connect(stamp_period, weak=False, dispatch_uid="releasemgr-stamp-period")
