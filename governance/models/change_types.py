"""ITIL change types: the catalogue of standard change models, and emergency retrospectives."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from governance.choices import RiskBand
from releasemgr.models import BaseModel


class ChangeModel(BaseModel):
    """A pre-approved standard change: which services, which steps, up to which risk.

    A release of change type *standard* that names an active change model,
    touches only its services and assesses at or below its risk ceiling needs
    no CAB approval (``governance.policy``).
    """

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    services = models.ManyToManyField(
        "releases.Service",
        related_name="change_models",
        help_text="The services this standard change may touch.",
    )
    steps = models.TextField(help_text="The approved procedure, one step per line.")
    risk_ceiling = models.CharField(
        max_length=10,
        choices=RiskBand.choices,
        default=RiskBand.LOW,
        help_text="A release assessed above this band is not a standard change.",
    )
    active = models.BooleanField(default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_change_models",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The CAB member who pre-approved this change model.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("change_model_detail", args=[self.slug])


class Retrospective(BaseModel):
    """The mandatory review of an emergency change, due within N days of its approval."""

    release = models.OneToOneField(
        "releases.Release", on_delete=models.CASCADE, related_name="retrospective"
    )
    due_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    findings = models.TextField(blank=True)
    actions = models.TextField(blank=True, help_text="Follow-up actions, one per line.")

    class Meta:
        ordering = ["due_at"]

    def __str__(self):
        return f"Retrospective of {self.release.key}"

    def get_absolute_url(self):
        return reverse("retrospective_detail", args=[self.pk])
