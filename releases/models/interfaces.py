"""Interfaces between services and teams: published API versions and who consumes them, what a
release does to an API, and the cross-team integration test plan of a release."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from releases.validators import validate_semver


class ApiVersionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


class ApiChangeKind(models.TextChoices):
    ADDS = "adds", "Adds (compatible)"
    BREAKS = "breaks", "Breaks (incompatible change)"
    REMOVES = "removes", "Removes"


class SignOffStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SIGNED = "signed", "Signed"
    REFUSED = "refused", "Refused"


class ApiVersion(BaseModel):
    """A version of an API a service publishes (e.g. "payments v2" 2.0.0), with its
    deprecation schedule: deprecated on one date, switched off (sunset) on another."""

    service = models.ForeignKey(
        "releases.Service", on_delete=models.CASCADE, related_name="api_versions"
    )
    name = models.CharField(max_length=100, help_text='e.g. "payments v2".')
    version = models.CharField(max_length=50, validators=[validate_semver])
    status = models.CharField(
        max_length=12, choices=ApiVersionStatus.choices, default=ApiVersionStatus.ACTIVE
    )
    deprecated_on = models.DateField(null=True, blank=True)
    sunset_on = models.DateField(
        null=True, blank=True, help_text="The day the version is switched off."
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["service__name", "name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["service", "version"], name="unique_api_version")
        ]

    def __str__(self):
        return f"{self.name} {self.version}"

    def get_absolute_url(self):
        return reverse("api_version_detail", args=[self.pk])

    def clean(self):
        if self.deprecated_on and self.sunset_on and self.sunset_on < self.deprecated_on:
            raise ValidationError(
                {"sunset_on": "The sunset cannot come before the deprecation date."}
            )
        if self.status == ApiVersionStatus.ACTIVE and self.sunset_on and not self.deprecated_on:
            raise ValidationError(
                {"deprecated_on": "A version with a sunset date must say when it is deprecated."}
            )


class ApiConsumer(BaseModel):
    """Someone who calls an API version: one of our services, or a named external client."""

    api_version = models.ForeignKey(ApiVersion, on_delete=models.CASCADE, related_name="consumers")
    consumer_service = models.ForeignKey(
        "releases.Service",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="consumed_api_versions",
    )
    external_client = models.CharField(
        max_length=100, blank=True, help_text='A client outside the company, e.g. "Acme POS".'
    )
    contact = models.CharField(max_length=200, blank=True, help_text="Who to tell of changes.")

    class Meta:
        ordering = ["consumer_service__name", "external_client"]

    def __str__(self):
        return self.consumer_name

    def get_absolute_url(self):
        return self.api_version.get_absolute_url()

    @property
    def consumer_name(self) -> str:
        return str(self.consumer_service) if self.consumer_service_id else self.external_client

    def clean(self):
        has_service = self.consumer_service_id is not None
        has_client = bool((self.external_client or "").strip())
        if has_service == has_client:
            raise ValidationError(
                {"external_client": "Name either a consumer service or an external client."}
            )
        if (
            has_service
            and self.api_version_id
            and self.api_version.service_id == self.consumer_service_id
        ):
            raise ValidationError({"consumer_service": "A service does not consume its own API."})


class ApiChange(BaseModel):
    """What a release does to an API version: adds to it, breaks it or removes it."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="api_changes"
    )
    api_version = models.ForeignKey(ApiVersion, on_delete=models.CASCADE, related_name="changes")
    change = models.CharField(max_length=10, choices=ApiChangeKind.choices)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["release", "api_version__name"]
        constraints = [
            models.UniqueConstraint(fields=["release", "api_version"], name="unique_api_change")
        ]

    def __str__(self):
        return f"{self.release.key} {self.get_change_display().split(' ')[0].lower()} {self.api_version}"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#packaging"


class IntegrationTestPlan(BaseModel):
    """The end-to-end flows a release is tested on across teams before it ships."""

    release = models.OneToOneField(
        "releases.Release", on_delete=models.CASCADE, related_name="integration_plan"
    )
    notes = models.TextField(blank=True)

    def __str__(self):
        return f"Integration test plan of {self.release.key}"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#validation"


class IntegrationFlow(BaseModel):
    """An end-to-end flow (e.g. "checkout and pay") spanning services of several teams."""

    plan = models.ForeignKey(IntegrationTestPlan, on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    services = models.ManyToManyField("releases.Service", related_name="integration_flows")

    class Meta:
        ordering = ["plan", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return self.plan.get_absolute_url()


class TeamSignOff(BaseModel):
    """A team's verdict on an integration flow: signed (it works for us) or refused."""

    flow = models.ForeignKey(IntegrationFlow, on_delete=models.CASCADE, related_name="sign_offs")
    team = models.ForeignKey("releases.Team", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(
        max_length=10, choices=SignOffStatus.choices, default=SignOffStatus.PENDING
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["flow", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["flow", "team"], name="unique_team_sign_off")
        ]

    def __str__(self):
        return f"{self.team} on {self.flow}: {self.get_status_display().lower()}"

    def get_absolute_url(self):
        return self.flow.get_absolute_url()
