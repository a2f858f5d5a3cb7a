"""The delivery history metrics are computed from (DESIGN.md "Metric definitions").

One ``DeploymentRecord`` per finished deployment of one service to one environment, whether
it ran here (a ``releases.Deployment``, one record per service of its release) or was
imported from another tool (``external_id``). Flat and indexed for aggregation: the team
and whether the environment is production are copied in, so a year of figures for a team
is one indexed range scan. ``CommitRecord`` rows carry the commits a deployment shipped
(lead time).
"""

from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class RecordStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"


class RecordSource(models.TextChoices):
    NATIVE = "native", "Deployed here"
    IMPORT = "import", "Imported"


class DeploymentRecord(BaseModel):
    external_id = models.CharField(
        max_length=200, blank=True, default="", help_text="The id in the tool it came from."
    )
    source = models.CharField(
        max_length=10, choices=RecordSource.choices, default=RecordSource.NATIVE
    )
    deployment = models.ForeignKey(
        "releases.Deployment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="records",
    )
    release = models.ForeignKey(
        "releases.Release", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="deployment_records"
    )
    team = models.ForeignKey(
        "releases.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deployment_records",
    )
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="deployment_records"
    )
    is_production = models.BooleanField(default=False)
    version = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=12, choices=RecordStatus.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-finished_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="unique_deployment_record_external_id",
            ),
            models.UniqueConstraint(
                fields=["deployment", "service"],
                condition=models.Q(deployment__isnull=False),
                name="unique_deployment_record_per_service",
            ),
        ]
        indexes = [
            models.Index(fields=["is_production", "finished_at"], name="deprec_prod_finished"),
            models.Index(fields=["service", "finished_at"], name="deprec_service_finished"),
            models.Index(fields=["team", "finished_at"], name="deprec_team_finished"),
            # "The next successful production deployment of the service" (recovery, MTTR).
            models.Index(
                fields=["service", "finished_at", "id"],
                name="deprec_service_success",
                condition=models.Q(is_production=True, status="succeeded"),
            ),
            # The rollup job's "changed since the last run" (metrics.jobs_rollups).
            models.Index(
                fields=["updated"],
                name="deprec_prod_updated",
                condition=models.Q(is_production=True),
            ),
        ]

    def __str__(self):
        return f"{self.service_id} {self.version} → {self.environment_id} ({self.status})"

    def get_absolute_url(self):
        if self.deployment_id:
            return reverse("deployment_detail", args=[self.deployment_id])
        return reverse("metrics_dashboard")


class CommitRecord(models.Model):
    """A commit shipped by a deployment (append-only), for lead time for changes.

    ``service`` is copied from the record, and ``first_shipped_at`` holds the ``finished_at``
    of the first successful production record of that service containing the sha (null:
    not shipped yet), kept by ``metrics.history.refresh_first_shipped`` whenever records
    change. Lead time is then ``first_shipped_at - authored_at`` read from one row, instead
    of a search for the first success per commit at query time.
    """

    deployment_record = models.ForeignKey(
        DeploymentRecord, on_delete=models.CASCADE, related_name="commits"
    )
    service = models.ForeignKey("releases.Service", on_delete=models.CASCADE, related_name="+")
    sha = models.CharField(max_length=64)
    authored_at = models.DateTimeField()
    first_shipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["authored_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment_record", "sha"], name="unique_commit_per_deployment_record"
            )
        ]
        indexes = [
            models.Index(fields=["sha"], name="commit_sha"),
            models.Index(fields=["service", "sha"], name="commit_service_sha"),
        ]

    def __str__(self):
        return self.sha[:12]
