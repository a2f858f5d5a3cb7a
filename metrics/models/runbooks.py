"""Runbooks (issue 6, item 12): how to operate a service, in versions that are never edited,
and the "runbook updated" check a release that changes behaviour carries per service."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class Runbook(BaseModel):
    """The operating instructions of one service on one topic (restart, failover, ...)."""

    service = models.ForeignKey(
        "releases.Service", on_delete=models.CASCADE, related_name="runbooks"
    )
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["service__slug", "title"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("runbook_detail", args=[self.slug])


class RunbookVersion(models.Model):
    """One version of a runbook's text (append-only: a change is a new version)."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    body = models.TextField(help_text="Markdown.")
    summary = models.CharField(max_length=300, help_text="What changed in this version.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "number"], name="unique_runbook_version")
        ]

    def __str__(self):
        return f"{self.runbook} v{self.number}"

    def get_absolute_url(self):
        return reverse("runbook_version_detail", args=[self.runbook.slug, self.number])

    @property
    def slug(self) -> str:
        """The runbook's slug: a version's URL is ``/runbooks/<slug>/versions/<number>/``."""
        return self.runbook.slug


class RunbookCheck(BaseModel):
    """A release's "runbook updated" checklist item for one service: done once a runbook
    version written for that service after the release was created is linked to it."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="runbook_checks"
    )
    service = models.ForeignKey("releases.Service", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(
        RunbookVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="checks"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["release", "service__slug"]
        constraints = [
            models.UniqueConstraint(fields=["release", "service"], name="unique_runbook_check")
        ]

    def __str__(self):
        return f"{self.release.key}: runbook of {self.service.slug}"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#stabilisation"
