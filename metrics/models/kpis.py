"""Key performance indicators per service and the samples monitors post for them."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class KpiKind(models.TextChoices):
    ERROR_RATE = "error_rate", "Error rate"
    LATENCY = "latency", "Latency"
    THROUGHPUT = "throughput", "Throughput"
    BUSINESS = "business", "Business KPI"


class KpiDirection(models.TextChoices):
    """Which way is bad: an error rate breaches upwards, throughput downwards."""

    HIGHER_IS_WORSE = "higher_is_worse", "Higher is worse"
    LOWER_IS_WORSE = "lower_is_worse", "Lower is worse"


class Kpi(BaseModel):
    """One indicator of one service, with how a breach is recognised.

    A breach is a value past ``threshold`` (absolute), or, without one, a value
    worse than the pre-release baseline by more than ``tolerance_percent``.
    """

    service = models.ForeignKey("releases.Service", on_delete=models.CASCADE, related_name="kpis")
    name = models.SlugField(
        max_length=80, help_text="e.g. http_5xx_rate, p99_latency, orders_per_min"
    )
    kind = models.CharField(max_length=20, choices=KpiKind.choices)
    unit = models.CharField(max_length=20, help_text="e.g. %, ms, rps, orders/min")
    direction = models.CharField(
        max_length=20, choices=KpiDirection.choices, default=KpiDirection.HIGHER_IS_WORSE
    )
    threshold = models.FloatField(
        null=True, blank=True, help_text="Absolute limit; leave empty to compare with the baseline."
    )
    tolerance_percent = models.FloatField(
        default=20.0,
        validators=[MinValueValidator(0)],
        help_text="How much worse than the pre-release baseline counts as a breach.",
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["service__slug", "name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "name"], name="unique_kpi_per_service")
        ]

    def __str__(self):
        return f"{self.service.slug}:{self.name}"

    def get_absolute_url(self):
        return reverse("kpi_detail", args=[self.pk])


class KpiSample(models.Model):
    """One measured value (append-only), posted by a pipeline or monitor."""

    kpi = models.ForeignKey(Kpi, on_delete=models.CASCADE, related_name="samples")
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="kpi_samples"
    )
    measured_at = models.DateTimeField(db_index=True)
    value = models.FloatField()
    source = models.CharField(max_length=100, blank=True, help_text="Monitor or pipeline name.")
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["measured_at", "pk"]
        indexes = [models.Index(fields=["kpi", "environment", "measured_at"])]

    def __str__(self):
        return f"{self.kpi} = {self.value} at {self.measured_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return self.kpi.get_absolute_url()
