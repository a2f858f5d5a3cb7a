"""Quality gates with exit criteria per environment, and the test results pipelines post."""

from __future__ import annotations

import math
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from releasemgr.models import BaseModel

# metric: (label, unit, suite its results come from unless a criterion names another)
METRICS: dict[str, tuple[str, str, str]] = {
    "smoke_failed": ("Smoke tests failed", "", "smoke"),
    "smoke_passed_ratio": ("Smoke tests passed (share)", "", "smoke"),
    "p95_latency_ms": ("p95 latency", "ms", "performance"),
    "p99_latency_ms": ("p99 latency", "ms", "performance"),
    "error_rate_percent": ("Error rate", "%", "performance"),
    "throughput_rps": ("Throughput", "req/s", "performance"),
    "coverage_percent": ("Coverage", "%", "unit"),
}
# Metrics measured under load: the gate's ``min_load_ratio`` applies to them.
LOAD_METRICS = {"p95_latency_ms", "p99_latency_ms", "error_rate_percent", "throughput_rps"}
OPS = ("<=", ">=", "==", "<", ">")
SUITE_RE = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
METRIC_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")


def is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def criteria_errors(criteria) -> list[str]:
    """What is wrong with a list of exit criteria, in words (empty when it is fine)."""
    if not isinstance(criteria, list):
        return ['Criteria must be a list of {"metric", "op", "threshold"} objects.']
    errors = []
    known = ", ".join(METRICS)
    for number, item in enumerate(criteria, start=1):
        where = f"Criterion {number}"
        if not isinstance(item, dict):
            errors.append(f"{where} must be an object with metric, op and threshold.")
            continue
        extra = sorted(set(item) - {"metric", "op", "threshold", "suite"})
        if extra:
            errors.append(f"{where} has unknown keys: {', '.join(extra)}.")
        metric = item.get("metric")
        if metric not in METRICS:
            errors.append(f"{where}: unknown metric {metric!r}; use one of {known}.")
        if item.get("op") not in OPS:
            errors.append(
                f"{where}: unknown operator {item.get('op')!r}; use one of {' '.join(OPS)}."
            )
        if not is_number(item.get("threshold")):
            errors.append(
                f"{where}: the threshold must be a number, not {item.get('threshold')!r}."
            )
        suite = item.get("suite")
        if suite not in (None, "") and not (isinstance(suite, str) and SUITE_RE.match(suite)):
            errors.append(f"{where}: the suite must be a short lower-case name like 'smoke'.")
    return errors


def metrics_errors(metrics) -> list[str]:
    """What is wrong with a result's metrics ({name: number}), in words."""
    if not isinstance(metrics, dict):
        return ["Metrics must be an object of metric name → number."]
    errors = []
    for name, value in metrics.items():
        if not METRIC_NAME_RE.match(str(name)):
            errors.append(f"{name!r} is not a metric name (letters, digits, _ . -).")
        elif not is_number(value):
            errors.append(f"{name}: {value!r} is not a number.")
    return errors


class QualityGate(BaseModel):
    """Exit criteria of an environment: what a release's test results there must show before it
    moves on (e.g. smoke tests all pass; p95 latency ≤ 300 ms at ≥ 80 % of production load)."""

    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.CASCADE, related_name="quality_gates"
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    criteria = models.JSONField(
        default=list,
        blank=True,
        help_text='A list of {"metric", "op", "threshold", "suite"?}, e.g. '
        '[{"metric": "p95_latency_ms", "op": "<=", "threshold": 300}]. '
        f"Metrics: {', '.join(METRICS)}. Operators: {' '.join(OPS)}.",
    )
    min_load_ratio = models.FloatField(
        null=True,
        blank=True,
        help_text="Share of expected production load a performance run must reach, e.g. 0.8.",
    )
    load_assumption = models.TextField(
        blank=True,
        help_text="The accepted assumption when the simulated load is below that share "
        "(e.g. 'staging has half the nodes; latency scales linearly'). Empty: a shortfall fails.",
    )

    class Meta:
        ordering = ["environment__order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="unique_quality_gate_name")
        ]

    def __str__(self):
        return f"{self.name} ({self.environment})"

    def get_absolute_url(self):
        return reverse("quality_gate_detail", args=[self.pk])

    def clean(self):
        errors = {}
        problems = criteria_errors(self.criteria)
        if problems:
            errors["criteria"] = problems
        elif not self.criteria:
            errors["criteria"] = ["Give at least one exit criterion."]
        if self.min_load_ratio is not None and not (0 < self.min_load_ratio <= 2):
            errors["min_load_ratio"] = ["A share of production load between 0 and 2, e.g. 0.8."]
        if errors:
            raise ValidationError(errors)


class TestResultStatus(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class TestResult(BaseModel):
    """One run of a test suite (smoke, performance, integration, …) for a release in an
    environment, as a pipeline reported it, with its metrics."""

    __test__ = False  # not a pytest class

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="test_results"
    )
    service = models.ForeignKey(
        "releases.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="test_results"
    )
    suite = models.CharField(max_length=50, help_text="smoke, performance, integration, unit…")
    kind = models.CharField(max_length=50, blank=True, help_text="Tool or flavour, e.g. k6.")
    status = models.CharField(max_length=10, choices=TestResultStatus.choices)
    metrics = models.JSONField(default=dict, blank=True)
    load_ratio = models.FloatField(
        null=True, blank=True, help_text="Simulated load ÷ expected production load."
    )
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    pipeline_url = models.URLField(max_length=500, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reported_at = models.DateTimeField(default=timezone.now, db_index=True)
    idempotency_key = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        ordering = ["-reported_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["reported_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_test_result_idempotency_key",
            )
        ]

    def __str__(self):
        return f"{self.suite} {self.status} · {self.release.key} in {self.environment}"

    def get_absolute_url(self):
        return reverse("test_result_detail", args=[self.pk])

    def clean(self):
        errors = {}
        if not SUITE_RE.match(self.suite or ""):
            errors["suite"] = ["A short lower-case name like 'smoke' or 'performance'."]
        problems = metrics_errors(self.metrics)
        if problems:
            errors["metrics"] = problems
        if self.load_ratio is not None and not (0 <= self.load_ratio <= 100):
            errors["load_ratio"] = ["Simulated ÷ expected production load: a number ≥ 0, e.g. 0.8."]
        if errors:
            raise ValidationError(errors)

    def value(self, metric: str) -> float | None:
        """The metric as posted, or derived from the counts for the smoke_* metrics."""
        if metric in (self.metrics or {}):
            return self.metrics[metric]
        if metric == "smoke_failed":
            # A run reported as failed failed at least one test, whatever its counts say.
            return max(self.failed, 1 if self.status == TestResultStatus.FAILED else 0)
        if metric == "smoke_passed_ratio":
            total = self.passed + self.failed
            return round(self.passed / total, 4) if total else None
        return None
