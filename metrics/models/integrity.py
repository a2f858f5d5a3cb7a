"""Data integrity checks a release's batch or ETL jobs must pass, and the results the jobs
post (curriculum 6.3)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class IntegrityKind(models.TextChoices):
    ROW_COUNT = "row_count", "Row count"
    SUM = "sum", "Sum"
    CHECKSUM = "checksum", "Checksum"
    RECONCILIATION = "reconciliation", "Reconciliation"


class IntegrityRelation(models.TextChoices):
    EQUAL = "equal", "Equal before and after"
    WITHIN_TOLERANCE = "within_tolerance", "After within tolerance % of before"
    EXPECTED_VALUE = "expected_value", "After equals the expected value"


class IntegrityCheck(BaseModel):
    """One check of a release's data: what is measured (rows, a sum, a checksum, a
    reconciliation), by which job, and how the value after the change must relate to the value
    before it. The release cannot be closed until the latest result of each check passed."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="integrity_checks"
    )
    service = models.ForeignKey(
        "releases.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="integrity_checks",
    )
    name = models.CharField(max_length=120, help_text="e.g. payouts row count")
    job_name = models.CharField(
        max_length=120, blank=True, help_text="The batch or ETL job that posts the results."
    )
    kind = models.CharField(max_length=20, choices=IntegrityKind.choices)
    relation = models.CharField(
        max_length=20, choices=IntegrityRelation.choices, default=IntegrityRelation.EQUAL
    )
    tolerance_percent = models.FloatField(
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Allowed deviation (within tolerance; or around the expected value).",
    )
    expected_value = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["release", "name"]
        constraints = [
            models.UniqueConstraint(fields=["release", "name"], name="unique_integrity_check_name")
        ]

    def __str__(self):
        return f"{self.name} ({self.get_kind_display().lower()})"

    def get_absolute_url(self):
        return reverse("integrity_check_detail", args=[self.pk])

    def clean(self):
        errors = {}
        if self.relation == IntegrityRelation.EXPECTED_VALUE and not self.expected_value.strip():
            errors["expected_value"] = "Give the value the job must find after the change."
        if self.kind == IntegrityKind.CHECKSUM and self.relation == (
            IntegrityRelation.WITHIN_TOLERANCE
        ):
            errors["relation"] = "A checksum matches or it does not: no tolerance."
        if self.tolerance_percent and self.relation == IntegrityRelation.EQUAL:
            errors["tolerance_percent"] = "An equality check has no tolerance."
        if errors:
            raise ValidationError(errors)


class IntegrityResult(models.Model):
    """One run of a check posted by its job (append-only). ``passed`` is computed by
    ``metrics.integrity`` from the values, never taken from the client."""

    integrity_check = models.ForeignKey(
        IntegrityCheck, on_delete=models.CASCADE, related_name="results"
    )
    before_value = models.CharField(max_length=200, blank=True)
    after_value = models.CharField(max_length=200)
    query_name = models.CharField(max_length=200, blank=True)
    query_result = models.TextField(blank=True)
    passed = models.BooleanField()
    explanation = models.TextField()
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"{self.integrity_check}: {'passed' if self.passed else 'failed'}"

    def get_absolute_url(self):
        return self.integrity_check.get_absolute_url()
