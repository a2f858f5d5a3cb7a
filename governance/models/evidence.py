"""Evidence packs for regulators: an archive of everything about some releases."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from governance.choices import EvidenceStatus
from releasemgr.models import BaseModel


class EvidencePack(BaseModel):
    """A downloadable archive for one release, or a service's releases in a date range.

    Built by ``governance.evidence`` (in a Celery job for large packs); the
    archive holds JSON/CSV data, an HTML report and a SHA-256 manifest.
    """

    release = models.ForeignKey(
        "releases.Release", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        "releases.Service", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    since = models.DateField(null=True, blank=True)
    until = models.DateField(null=True, blank=True, help_text="Exclusive.")
    status = models.CharField(
        max_length=10, choices=EvidenceStatus.choices, default=EvidenceStatus.QUEUED, editable=False
    )
    progress = models.PositiveSmallIntegerField(default=0, editable=False, help_text="Percent.")
    release_count = models.PositiveIntegerField(default=0, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    file_name = models.CharField(max_length=200, blank=True, editable=False)
    archive_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    manifest = models.JSONField(default=dict, blank=True, editable=False)
    chain_verification = models.JSONField(default=dict, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    error = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["-created"]
        permissions = [("export_evidence", "Can build and download evidence packs")]

    def __str__(self):
        if self.release_id:
            return f"Evidence for {self.release.key}"
        return f"Evidence for {self.service} {self.since}–{self.until}"

    def get_absolute_url(self):
        return reverse("evidence_pack_detail", args=[self.pk])

    def clean(self):
        if bool(self.release_id) == bool(self.service_id):
            raise ValidationError("Choose one release, or one service with a date range.")
        if self.service_id and not (self.since and self.until):
            raise ValidationError("A service pack needs a date range (since and until).")
        if self.since and self.until and self.until <= self.since:
            raise ValidationError({"until": "The end of the range must be after its start."})
