"""Blameless post-mortems (issue 7, item 6): what happened after a failed release or a major
incident, which conditions of the system contributed (never a person), and the actions taken
to change them, tracked to done."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class PostMortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


class FactorCategory(models.TextChoices):
    PROCESS = "process", "Process"
    TECHNOLOGY = "technology", "Technology"
    COMMUNICATION = "communication", "Communication"
    ENVIRONMENT = "environment", "Environment"
    TOOLING = "tooling", "Tooling"
    TESTING = "testing", "Testing"
    MONITORING = "monitoring", "Monitoring"
    DOCUMENTATION = "documentation", "Documentation"
    OTHER = "other", "Other"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class PostMortem(BaseModel):
    """The blameless review of a failed release or a critical/high incident (at least one)."""

    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="post_mortems",
    )
    incident = models.ForeignKey(
        "metrics.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="post_mortems",
    )
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=PostMortemStatus.choices, default=PostMortemStatus.DRAFT
    )
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(release__isnull=False) | models.Q(incident__isnull=False),
                name="postmortem_has_subject",
            )
        ]
        indexes = [models.Index(fields=["status", "created"])]

    def __str__(self):
        return f"PM-{self.pk}: {self.title}"

    def get_absolute_url(self):
        return reverse("postmortem_detail", args=[self.pk])


class TimelineEntry(BaseModel):
    """One moment of what happened, in order."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    description = models.TextField()

    class Meta:
        ordering = ["postmortem", "at", "pk"]
        verbose_name_plural = "timeline entries"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.description[:60]}"

    def get_absolute_url(self):
        return self.postmortem.get_absolute_url() + "#timeline"


class ContributingFactor(BaseModel):
    """A condition of the system that contributed (a process gap, a missing test, ...),
    never a person. ``tags`` are short slugs that recur across post-mortems and feed the
    checklist refinement."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="factors")
    category = models.CharField(max_length=20, choices=FactorCategory.choices)
    description = models.TextField()
    tags = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["postmortem", "pk"]

    def __str__(self):
        return f"{self.get_category_display()}: {self.description[:60]}"

    def get_absolute_url(self):
        return self.postmortem.get_absolute_url() + "#factors"


class ActionItem(BaseModel):
    """Something to change so it does not happen again: an owner, a due date, done or not."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="actions")
    description = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="postmortem_actions"
    )
    due_date = models.DateField()
    status = models.CharField(max_length=4, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self):
        return f"Action {self.pk}: {self.description[:60]}"

    def get_absolute_url(self):
        return self.postmortem.get_absolute_url() + f"#action-{self.pk}"
