"""Bookings of constrained non-production environments and their test data."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from scheduling.choices import ReservationPurpose


class TestDataSet(BaseModel):
    """A shared set of test data that only one validation at a time can use."""

    __test__ = False  # not a pytest test class

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    environments = models.ManyToManyField(
        "scheduling.Environment", blank=True, related_name="test_data_sets"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("reservation_list") + f"?data_set={self.slug}"


class Reservation(BaseModel):
    """A release's booking of an environment for a period and a purpose.

    Made and cancelled through ``scheduling.reservations``, which refuses a
    booking beyond the environment's capacity or on a data set already in use.
    """

    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="reservations"
    )
    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="reservations"
    )
    purpose = models.CharField(max_length=20, choices=ReservationPurpose.choices)
    start = models.DateTimeField()
    end = models.DateTimeField()
    test_data_sets = models.ManyToManyField(TestDataSet, blank=True, related_name="reservations")
    notes = models.TextField(blank=True)
    reserved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reservations"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="reservation_end_after_start"
            )
        ]

    def __str__(self):
        return f"{self.environment} for {self.release.key} ({self.get_purpose_display()})"

    def get_absolute_url(self):
        return reverse("reservation_detail", args=[self.pk])
