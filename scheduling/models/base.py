"""Environments in their promotion order, and calendar windows (freezes, blackouts, ...)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from releases.choices import ChangeType
from scheduling.choices import Hardness, WindowKind
from scheduling.validators import validate_rrule, validate_timezone


class Environment(BaseModel):
    """A place releases are deployed to; releases are promoted in ascending ``order``."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(
        unique=True, help_text="Promotion order: lower ships first."
    )
    is_production = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    capacity = models.PositiveSmallIntegerField(
        default=1,
        help_text="How many releases can be validated here at the same time.",
    )
    requires_reservation = models.BooleanField(
        default=False,
        help_text="Deployments here need an active reservation for the release.",
    )
    spare_capacity_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Spare compute beyond what the services use (blue-green needs about 100%).",
    )

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("environment_detail", args=[self.slug])


class FreezeWindow(BaseModel):
    """A calendar window: a freeze, a blackout (peak business period), a maintenance
    window or a preferred release window.

    (The class keeps its first name, FreezeWindow, because the public API
    ``/api/v1/freeze-windows/`` is named after it.) ``start``/``end`` is the
    first occurrence; with an ``rrule`` it repeats in the window's own
    ``timezone`` (wall-clock times, so a 09:00 window stays at 09:00 across a
    DST change) until ``recurrence_until``. An empty scope list (services,
    environments, teams, regions) means *all*. A hard window denies; a soft
    one warns and asks for a reason. ``allowed_change_types`` may ship during
    the window without an exception (e.g. standard and emergency changes
    during the holiday freeze).
    """

    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=20, choices=WindowKind.choices, default=WindowKind.FREEZE, db_index=True
    )
    hardness = models.CharField(max_length=10, choices=Hardness.choices, default=Hardness.HARD)
    reason = models.TextField(blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="IANA time zone the window is defined in, e.g. Europe/Berlin.",
    )
    rrule = models.CharField(
        "recurrence rule",
        max_length=500,
        blank=True,
        validators=[validate_rrule],
        help_text="iCalendar RRULE, e.g. FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1 "
        "(last 3 business days of every month). Empty = one-off.",
    )
    recurrence_until = models.DateTimeField(null=True, blank=True)
    services = models.ManyToManyField("releases.Service", blank=True, related_name="freeze_windows")
    environments = models.ManyToManyField(Environment, blank=True, related_name="freeze_windows")
    teams = models.ManyToManyField("releases.Team", blank=True, related_name="windows")
    regions = models.ManyToManyField("scheduling.Region", blank=True, related_name="windows")
    allowed_change_types = models.JSONField(
        default=list,
        blank=True,
        help_text="Change types that may ship during this window without an exception.",
    )
    source_key = models.CharField(
        max_length=120,
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="Set for generated windows (public holidays) so re-imports change nothing.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["start"]
        verbose_name = "calendar window"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="freeze_end_after_start"
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("freeze_detail", args=[self.pk])

    def clean(self):
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start."})
        if self.recurrence_until and self.start and self.recurrence_until <= self.start:
            raise ValidationError(
                {"recurrence_until": "The recurrence must end after the first start."}
            )
        if self.recurrence_until and not self.rrule:
            raise ValidationError(
                {"recurrence_until": "Only a recurring window has a recurrence end."}
            )
        unknown = set(self.allowed_change_types or []) - set(ChangeType.values)
        if unknown:
            raise ValidationError(
                {"allowed_change_types": f"Unknown change type(s): {', '.join(sorted(unknown))}."}
            )

    @property
    def is_recurring(self) -> bool:
        return bool(self.rrule)

    @property
    def blocks(self) -> bool:
        return self.kind in (WindowKind.FREEZE, WindowKind.BLACKOUT)
