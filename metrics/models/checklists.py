"""Checklists (issue 7, item 7): templates whose items are versioned, runs of a version per
deployment, and new versions made from accepted refinement proposals."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class ChecklistTemplate(BaseModel):
    """A checklist for one kind of work, e.g. "production deployment"."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    scope = models.CharField(max_length=100, default="production deployment")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("checklist_detail", args=[self.pk])


class ChecklistVersion(models.Model):
    """One version of a template's items (append-only: a change is a new version)."""

    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    items = models.JSONField(default=list, help_text="[{key, text}]")
    summary = models.CharField(max_length=300, blank=True)
    accepted_proposals = models.JSONField(
        default=list, blank=True, help_text="The refinement proposals this version came from."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="unique_checklist_version")
        ]

    def __str__(self):
        return f"{self.template} v{self.number}"

    def get_absolute_url(self):
        return self.template.get_absolute_url() + f"#v{self.number}"


class ChecklistRun(BaseModel):
    """A version of a checklist worked through for one deployment."""

    version = models.ForeignKey(ChecklistVersion, on_delete=models.PROTECT, related_name="runs")
    deployment = models.ForeignKey(
        "releases.Deployment", on_delete=models.CASCADE, related_name="checklist_runs"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "version"], name="unique_checklist_run_per_deployment"
            )
        ]

    def __str__(self):
        return f"{self.version} for deployment #{self.deployment_id}"

    def get_absolute_url(self):
        return reverse("deployment_detail", args=[self.deployment_id]) + "#checklist"


class RunItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class ChecklistRunItem(BaseModel):
    """One item of a run (copied from the version, so later versions do not change it)."""

    run = models.ForeignKey(ChecklistRun, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=100)
    text = models.CharField(max_length=300)
    status = models.CharField(
        max_length=8, choices=RunItemStatus.choices, default=RunItemStatus.PENDING
    )
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["run", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["run", "key"], name="unique_checklist_run_item")
        ]
        indexes = [models.Index(fields=["key", "status"])]

    def __str__(self):
        return f"{self.key}: {self.status}"

    def get_absolute_url(self):
        return self.run.get_absolute_url()
