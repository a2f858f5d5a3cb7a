"""Vulnerabilities and the patch SLAs that put their deadlines on the calendar."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from scheduling.choices import Severity, VulnerabilityStatus


class PatchSlaPolicy(BaseModel):
    """How long a vulnerability of a severity may stay unpatched (configurable per severity)."""

    severity = models.CharField(max_length=10, choices=Severity.choices, unique=True)
    hours = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    at_risk_fraction = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.75"),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("1"))],
        help_text="Share of the SLA after which an unpatched vulnerability is 'at risk'.",
    )

    class Meta:
        ordering = ["hours"]
        verbose_name_plural = "patch SLA policies"

    def __str__(self):
        return f"{self.get_severity_display()}: {self.hours} h"

    def get_absolute_url(self):
        return reverse("vulnerability_list")


class Vulnerability(BaseModel):
    """A known vulnerability in our services, with the deadline its severity sets."""

    cve_id = models.CharField("CVE id", max_length=30, unique=True)
    title = models.CharField(max_length=200)
    cvss = models.DecimalField(
        "CVSS score",
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("10"))],
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, editable=False)
    services = models.ManyToManyField("releases.Service", related_name="vulnerabilities")
    discovered_at = models.DateTimeField()
    due_at = models.DateTimeField(editable=False)
    status = models.CharField(
        max_length=10, choices=VulnerabilityStatus.choices, default=VulnerabilityStatus.OPEN
    )
    patch_release = models.ForeignKey(
        "releases.Release",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patched_vulnerabilities",
    )

    class Meta:
        ordering = ["due_at"]
        verbose_name_plural = "vulnerabilities"

    def __str__(self):
        return f"{self.cve_id} {self.title}"

    def get_absolute_url(self):
        return reverse("vulnerability_detail", args=[self.pk])

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # What the due date was computed from, so a save recomputes it only when they change.
        instance._sla_inputs = (
            instance.__dict__.get("cvss"),
            instance.__dict__.get("discovered_at"),
        )
        return instance

    def clean(self):
        from scheduling.patching import check_fields

        check_fields(self)

    def save(self, *args, **kwargs):
        # Severity and due date follow the CVSS score and discovery date (scheduling.patching).
        from scheduling.patching import apply_sla

        apply_sla(self)
        super().save(*args, **kwargs)
