"""Regions with their own time zone and legal go-live rules."""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from scheduling.validators import validate_timezone


class Region(BaseModel):
    """A geography releases go live in, with its time zone and (for holidays) its country."""

    code = models.SlugField(max_length=32, unique=True, help_text="e.g. eu-de, us-east, apac-sg")
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    country_code = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO 3166 country code for public holidays (e.g. DE, US, SG).",
    )
    subdivision = models.CharField(max_length=10, blank=True, help_text="e.g. BY for Bavaria.")
    rollout_order = models.PositiveSmallIntegerField(
        default=100, help_text="Default order in staggered rollouts (lower goes first)."
    )

    class Meta:
        ordering = ["rollout_order", "code"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("region_detail", args=[self.code])


class GoLiveRule(BaseModel):
    """The earliest moment a release (or any release of a service) may go live in a region.

    Regional legal requirements (a regulator's approval, a consultation period)
    impose staggered go-lives; the gate's ``regional_go_live`` check reads these.
    """

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="go_live_rules")
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="go_live_rules",
    )
    service = models.ForeignKey(
        "releases.Service",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="go_live_rules",
    )
    earliest_at = models.DateTimeField()
    legal_basis = models.CharField(
        max_length=200, help_text="Why: the requirement that imposes it."
    )

    class Meta:
        ordering = ["earliest_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(release__isnull=False) | models.Q(service__isnull=False),
                name="go_live_rule_names_release_or_service",
            )
        ]

    def __str__(self):
        target = self.release.key if self.release_id else self.service
        return f"{target} in {self.region} not before {self.earliest_at:%Y-%m-%d %H:%M}"

    def clean(self):
        if not self.release_id and not self.service_id:
            raise ValidationError(
                "Name the release the rule holds back, or the service whose releases it holds back."
            )
        if self.release_id and self.service_id:
            raise ValidationError(
                {
                    "service": "Name a release or a service, not both: a release rule already "
                    "covers every service it ships."
                }
            )
        if not (self.legal_basis or "").strip():
            raise ValidationError({"legal_basis": "Give the legal basis for the go-live date."})

    def validate_constraints(self, exclude=None):
        # clean() says in words what is missing; the check constraint stays the database's guard.
        if not self.release_id and not self.service_id:
            exclude = {*(exclude or ()), "release", "service"}
        super().validate_constraints(exclude=exclude)

    def get_absolute_url(self):
        return reverse("golive_rule_detail", args=[self.pk])
