"""Daily rollups of the production delivery history (issue 7): one row per (UTC day, service)
with the counts and sums the metrics page and the API add up over any period, so a year of
figures is a few hundred rows, not a scan of every deployment.

Derived data, rebuilt from ``DeploymentRecord`` and ``Incident`` by ``metrics.rollups.rebuild``
(never edited by hand), so it keeps no history. Percentiles cannot be added up: they come from
the raw rows (``metrics.aggregates``).
"""

from django.db import models


class DailyRollup(models.Model):
    """Production figures of one service on one UTC day.

    Deployments count by ``finished_at``'s day; incidents by ``started_at``'s day (DESIGN.md
    "Metric definitions"). ``team`` is the service's team when the day was rebuilt.
    """

    day = models.DateField()
    service = models.ForeignKey("releases.Service", on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        "releases.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deployments = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    rolled_back = models.PositiveIntegerField(default=0)
    # Failed, rolled back, or with an incident attributed to it (change failure rate numerator).
    failed_or_attributed = models.PositiveIntegerField(default=0)
    incidents_started = models.PositiveIntegerField(default=0)
    # Of the incidents that started that day, those resolved, and their restore time in total.
    incidents_resolved = models.PositiveIntegerField(default=0)
    restore_seconds_sum = models.FloatField(default=0)
    rebuilt_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day", "service_id"]
        constraints = [
            models.UniqueConstraint(fields=["day", "service"], name="unique_rollup_day_service")
        ]
        indexes = [
            models.Index(fields=["team", "day"], name="rollup_team_day"),
            models.Index(fields=["service", "day"], name="rollup_service_day"),
        ]

    def __str__(self):
        return f"{self.day} {self.service_id}: {self.deployments} deployments"


class RollupDay(models.Model):
    """One row per day that has ever been rolled up: the lock two rebuilds of the same day take
    (``select_for_update``), and the marker that the day must be rebuilt (``dirty``; set by
    imports and by changes to the history)."""

    day = models.DateField(unique=True)
    dirty = models.BooleanField(default=True, db_index=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["day"]

    def __str__(self):
        return f"{self.day}{' (dirty)' if self.dirty else ''}"
