"""A job body wrapped in ``recorded`` also runs outside Celery (a management command, a
shell, a test): it records its run like any other."""

import pytest

from releasemgr.jobs import recorded
from releasemgr.models import JobRun

pytestmark = pytest.mark.django_db


def test_a_recorded_body_called_directly_records_one_run():
    @recorded("direct-call-job")
    def body():
        return "did it"

    assert body() == "did it"
    run = JobRun.objects.get(name="direct-call-job")
    assert run.status == JobRun.Status.SUCCEEDED and run.detail == "did it"
    assert run.period_start is None and run.attempt == 1


def test_a_failing_body_called_directly_records_the_error():
    @recorded("direct-call-failing")
    def body():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        body()
    run = JobRun.objects.get(name="direct-call-failing")
    assert run.status == JobRun.Status.FAILED and "boom" in run.error
