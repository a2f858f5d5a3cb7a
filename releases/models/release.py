"""Releases: what ships, when, by whom, and what it contains."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Length
from django.urls import reverse
from django.utils import timezone

from governance.choices import Touches
from releasemgr.models import BaseModel
from releases.choices import (
    ChangeType,
    DeploymentStrategy,
    ReleaseKind,
    ReleaseState,
    ScopeDecision,
    ScopeKind,
)
from releases.validators import validate_version

# States in which a release's content may still be edited.
EDITABLE_STATES = (ReleaseState.DRAFT, ReleaseState.REJECTED)
# States a pipeline may be working with.
ACTIVE_STATES = (
    ReleaseState.SUBMITTED,
    ReleaseState.APPROVED,
    ReleaseState.DEPLOYING,
    ReleaseState.DEPLOYED,
)


class ReleaseQuerySet(models.QuerySet):
    def with_related(self):
        return self.select_related("owner", "author").prefetch_related(
            models.Prefetch(
                "release_services",
                queryset=ReleaseService.objects.select_related("service"),
            )
        )


class Release(BaseModel):
    """A planned change to one or more services, shipped together and approved as one.

    Its ``state`` changes only through ``releases.lifecycle``.
    """

    key = models.CharField(max_length=32, unique=True, editable=False)
    name = models.CharField(max_length=200)
    version = models.CharField(max_length=50, validators=[validate_version])
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=ReleaseKind.choices, default=ReleaseKind.FEATURE)
    change_type = models.CharField(
        max_length=20, choices=ChangeType.choices, default=ChangeType.NORMAL
    )
    state = models.CharField(
        max_length=20,
        choices=ReleaseState.choices,
        default=ReleaseState.DRAFT,
        editable=False,
        db_index=True,
    )
    planned_start = models.DateTimeField(null=True, blank=True)
    planned_end = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_releases",
        null=True,
        blank=True,
        help_text="The release manager accountable for this release.",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="authored_releases",
        editable=False,
    )
    rollback_plan = models.TextField(blank=True)
    rollback_tested = models.BooleanField(
        default=False, help_text="The rollback was rehearsed in a non-production environment."
    )
    planned_strategy = models.CharField(
        max_length=20,
        choices=DeploymentStrategy.choices,
        default=DeploymentStrategy.ROLLING,
        help_text="How production will be deployed (feeds the risk score).",
    )
    change_model = models.ForeignKey(
        "governance.ChangeModel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="releases",
        help_text="The pre-approved standard change this release follows (standard changes only).",
    )
    touches = models.JSONField(
        default=list,
        blank=True,
        help_text="Sensitive areas this release changes (access control, audit trails, ...).",
    )
    deadline = models.DateTimeField(
        null=True, blank=True, help_text="The date the business needs the release by."
    )
    compliance_deadline = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Audit or regulatory date the release must ship before (cannot slip).",
    )
    approval_round = models.PositiveIntegerField(
        default=0, editable=False, help_text="How many times the release was submitted."
    )
    services = models.ManyToManyField(
        "releases.Service", through="ReleaseService", related_name="releases", blank=True
    )

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        # The release list's default order.
        indexes = [models.Index(fields=["-created"], name="release_created_desc")]
        permissions = [
            ("submit_release", "Can submit a release for approval"),
            ("cancel_release", "Can cancel a release"),
            ("close_release", "Can close a deployed release"),
            ("deploy_release", "Can start deployments and report their results"),
            ("query_gate", "Can ask the deployment gate"),
        ]

    def __str__(self):
        return f"{self.key} {self.name}"

    def get_absolute_url(self):
        return reverse("release_detail", args=[self.key])

    def clean(self):
        if self.planned_start and self.planned_end and self.planned_end <= self.planned_start:
            raise ValidationError(
                {"planned_end": "The planned end must be after the planned start."}
            )
        if not isinstance(self.touches, list) or any(t not in Touches.values for t in self.touches):
            raise ValidationError({"touches": f"Choose from: {', '.join(Touches.values)}."})
        if self.change_model_id and self.change_type != ChangeType.STANDARD:
            raise ValidationError(
                {"change_model": "Only a standard change follows a pre-approved change model."}
            )

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    def contributor_ids(self) -> set[int]:
        """Users who authored or contributed changes (segregation of duties, ``governance.sod``)."""
        from governance import sod

        return sod.contributors(self)

    def save(self, *args, **kwargs):
        if self.key:
            return super().save(*args, **kwargs)
        # Keys are sequential per year; retry if a concurrent insert took ours.
        for _attempt in range(5):
            self.key = self._next_key()
            try:
                with transaction.atomic():
                    return super().save(*args, **kwargs)
            except IntegrityError:
                if Release.objects.filter(key=self.key).exists():
                    self.key = ""
                    continue
                raise
        raise IntegrityError("Could not allocate a release key")

    @classmethod
    def _next_key(cls) -> str:
        prefix = f"{settings.RELEASE_KEY_PREFIX}-{timezone.now().year}-"
        # Numeric suffixes only (imported keys may differ), longest first: 10000 > 9999.
        last = (
            cls.objects.filter(key__regex=rf"^{re.escape(prefix)}[0-9]+$")
            .annotate(key_length=Length("key"))
            .order_by("-key_length", "-key")
            .values_list("key", flat=True)
            .first()
        )
        number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
        return f"{prefix}{number:04d}"


class ReleaseService(BaseModel):
    """A service this release ships, at the version it brings it to."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="release_services")
    service = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="release_links"
    )
    version = models.CharField(max_length=50, validators=[validate_version])

    class Meta:
        ordering = ["service__name"]
        constraints = [
            models.UniqueConstraint(fields=["release", "service"], name="unique_release_service")
        ]
        # The gate finds a release by service and version (releases.gate.find_release).
        indexes = [models.Index(fields=["service", "version"], name="releaseservice_svc_version")]

    def __str__(self):
        return f"{self.service} {self.version}"

    def get_absolute_url(self):
        return self.release.get_absolute_url()


class ScopeItem(BaseModel):
    """A piece of work proposed for the release, and the decision taken on it."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="scope_items")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ScopeKind.choices, default=ScopeKind.FEATURE)
    decision = models.CharField(
        max_length=10, choices=ScopeDecision.choices, default=ScopeDecision.INCLUDED
    )
    rationale = models.TextField(blank=True, help_text="Why it is included, deferred or removed.")
    reference = models.CharField(
        max_length=100, blank=True, help_text="Ticket or merge request, e.g. PAY-1234."
    )
    service = models.ForeignKey(
        "releases.Service",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scope_items",
    )
    contributor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contributed_scope_items",
        help_text="Who wrote the change (cannot approve or deploy the release to production).",
    )

    class Meta:
        ordering = ["decision", "kind", "title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#scope"

    def clean(self):
        if self.decision != ScopeDecision.INCLUDED and not self.rationale.strip():
            raise ValidationError({"rationale": "Say why the item is deferred or removed."})
