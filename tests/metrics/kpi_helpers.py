"""Builders for the KPI watch tests: a KPI on payments-api and samples around a window."""

from datetime import timedelta

from django.utils import timezone

from metrics.models import Kpi, KpiSample, StabilisationWindow


def kpi(service, name="http_5xx_rate", **kwargs) -> Kpi:
    defaults = {"kind": "error_rate", "unit": "%", "direction": "higher_is_worse"}
    defaults.update(kwargs)
    obj = Kpi(service=service, name=name, **defaults)
    obj.save_with_reason("test")
    return obj


def samples(kpi, environment, start, values, step=timedelta(hours=1)) -> list[KpiSample]:
    return KpiSample.objects.bulk_create(
        KpiSample(kpi=kpi, environment=environment, measured_at=start + i * step, value=v)
        for i, v in enumerate(values)
    )


def shift_back(window: StabilisationWindow, hours: float) -> StabilisationWindow:
    """Pretend the deployment (and its window) happened ``hours`` ago."""
    delta = timedelta(hours=hours)
    dep = window.deployment
    type(dep).objects.filter(pk=dep.pk).update(
        started_at=dep.started_at - delta, finished_at=dep.finished_at - delta
    )
    StabilisationWindow.objects.filter(pk=window.pk).update(
        opened_at=window.opened_at - delta, ends_at=window.ends_at - delta
    )
    return StabilisationWindow.objects.select_related("deployment", "release").get(pk=window.pk)


def now():
    return timezone.now()
