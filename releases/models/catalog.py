"""The service catalog: who owns what, and what depends on what."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from releases.choices import DependencyKind, RiskProfile, Tier


class Team(BaseModel):
    """A team that owns services and ships releases."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("team_detail", args=[self.slug])


class Service(BaseModel):
    """A deployable application or component, with its operational requirements.

    Tier, customer exposure, HA and recovery SLA drive how carefully a release
    touching it is treated (impact, rollback scope, approvals).
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    domain = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="Business domain, for metrics."
    )
    description = models.TextField(blank=True)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.TIER_3)
    customer_facing = models.BooleanField(default=False)
    ha_required = models.BooleanField("HA required", default=False)
    recovery_sla_minutes = models.PositiveIntegerField(
        default=240,
        validators=[MinValueValidator(1)],
        help_text="How long the service may be down after a failed change before it must be restored.",
    )
    risk_profile = models.CharField(
        max_length=10, choices=RiskProfile.choices, default=RiskProfile.MEDIUM
    )
    sensitive_areas = models.JSONField(
        default=list,
        blank=True,
        help_text="Sensitive areas the service implements (e.g. access control, audit trails); "
        "a release touching the service touches them.",
    )
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="owned_services"
    )
    dependencies = models.ManyToManyField(
        "self",
        through="ServiceDependency",
        symmetrical=False,
        related_name="dependents",
        blank=True,
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("service_detail", args=[self.slug])


class ServiceDependency(BaseModel):
    """``service`` needs ``depends_on`` at run time or links it as a shared library."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="dependency_links")
    depends_on = models.ForeignKey(
        Service, on_delete=models.CASCADE, related_name="dependent_links"
    )
    kind = models.CharField(
        max_length=10, choices=DependencyKind.choices, default=DependencyKind.RUNTIME
    )
    version_constraint = models.CharField(
        max_length=50, blank=True, help_text="e.g. '>=2.1,<3' for a shared library."
    )

    class Meta:
        ordering = ["service__name", "depends_on__name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "depends_on"], name="unique_dependency"),
            models.CheckConstraint(
                condition=~models.Q(service=models.F("depends_on")), name="no_self_dependency"
            ),
        ]
        verbose_name_plural = "service dependencies"

    def __str__(self):
        return f"{self.service} → {self.depends_on} ({self.get_kind_display()})"

    def get_absolute_url(self):
        return self.service.get_absolute_url()

    def clean(self):
        if self.service_id and self.service_id == self.depends_on_id:
            raise ValidationError({"depends_on": "A service cannot depend on itself."})
