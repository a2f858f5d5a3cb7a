"""Environments in their promotion order, and freeze windows."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class Environment(BaseModel):
    """A place releases are deployed to; releases are promoted in ascending ``order``."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(
        unique=True, help_text="Promotion order: lower ships first."
    )
    is_production = models.BooleanField(default=False)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["order"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("environment_detail", args=[self.slug])


class FreezeWindowQuerySet(models.QuerySet):
    def active_at(self, moment):
        return self.filter(start__lte=moment, end__gt=moment)

    def upcoming_from(self, moment):
        return self.filter(end__gt=moment)


class FreezeWindow(BaseModel):
    """A period in which no deployment may happen to the services/environments in scope.

    An empty ``services`` or ``environments`` list means *all*.
    """

    name = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    services = models.ManyToManyField("releases.Service", blank=True, related_name="freeze_windows")
    environments = models.ManyToManyField(Environment, blank=True, related_name="freeze_windows")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = FreezeWindowQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
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
