"""The register of open risks and known errors, per release and per service."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from governance.choices import RegisterKind, RegisterStatus
from releasemgr.models import BaseModel


class RegisterEntry(BaseModel):
    """A risk or known error that service management must know about."""

    kind = models.CharField(max_length=12, choices=RegisterKind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField()
    impact = models.TextField(blank=True, help_text="Who or what is affected, and how.")
    workaround = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=RegisterStatus.choices, default=RegisterStatus.OPEN, db_index=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="register_entries"
    )
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="register_entries",
    )
    service = models.ForeignKey(
        "releases.Service",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="register_entries",
    )
    reference = models.CharField(max_length=100, blank=True, help_text="Problem or KEDB id.")

    class Meta:
        ordering = ["status", "-created"]
        verbose_name = "risk or known error"
        verbose_name_plural = "risks and known errors"

    def __str__(self):
        return f"{self.get_kind_display()}: {self.title}"

    def get_absolute_url(self):
        return reverse("register_entry_detail", args=[self.pk])

    def clean(self):
        if not self.release_id and not self.service_id:
            raise ValidationError("Link the entry to a release, a service, or both.")
