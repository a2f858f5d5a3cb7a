"""Release trains (a cadence that bundles releases of several services) and shared-library
versions (which version of a shared library each service uses, and which a release brings)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from releasemgr.models import BaseModel
from releases.validators import validate_semver
from scheduling.validators import validate_rrule, validate_timezone


class ReleaseTrain(BaseModel):
    """A train: releases of several services leave together on a fixed cadence (e.g. every
    second Tuesday). Each release rides at most one train, on one departure."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100, unique=True)
    cadence = models.CharField(
        max_length=200,
        validators=[validate_rrule],
        help_text="iCalendar RRULE, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU (every second Tuesday).",
    )
    dtstart = models.DateTimeField(
        "first departure", help_text="The first departure; later ones follow the cadence."
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_trains",
        help_text="The release manager who runs the train.",
    )
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("train_detail", args=[self.slug])


class TrainCar(BaseModel):
    """A release riding a train, on the departure (a date of the train's cadence) it leaves on."""

    train = models.ForeignKey(ReleaseTrain, on_delete=models.CASCADE, related_name="cars")
    release = models.OneToOneField(
        "releases.Release", on_delete=models.CASCADE, related_name="train_car"
    )
    departure = models.DateTimeField(help_text="The train occurrence the release rides.")

    class Meta:
        ordering = ["departure", "release__key"]

    def __str__(self):
        return f"{self.release.key} on {self.train} ({timezone.localtime(self.departure):%Y-%m-%d})"

    def get_absolute_url(self):
        return self.train.get_absolute_url()


class LibraryUsage(BaseModel):
    """A service declares the version of a shared library it uses now (in production)."""

    service = models.ForeignKey(
        "releases.Service", on_delete=models.CASCADE, related_name="library_usages"
    )
    library = models.ForeignKey(
        "releases.Service",
        on_delete=models.CASCADE,
        related_name="library_users",
        help_text="A shared library (a service other services link as a library).",
    )
    version = models.CharField(max_length=50, validators=[validate_semver])
    since = models.DateField(default=timezone.localdate)

    class Meta:
        ordering = ["library__name", "service__name"]
        constraints = [
            models.UniqueConstraint(fields=["service", "library"], name="unique_library_usage")
        ]

    def __str__(self):
        return f"{self.service} uses {self.library} {self.version}"

    def get_absolute_url(self):
        return reverse("library_list") + f"#lib-{self.library.slug}"

    def clean(self):
        if self.service_id and self.service_id == self.library_id:
            raise ValidationError({"library": "A service cannot use itself as a library."})
        _require_shared_library(self)


class ReleaseLibraryPin(BaseModel):
    """The version of a shared library a release brings its services onto."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="library_pins"
    )
    library = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="release_pins"
    )
    version = models.CharField(max_length=50, validators=[validate_semver])

    class Meta:
        ordering = ["library__name", "release__key"]
        constraints = [
            models.UniqueConstraint(fields=["release", "library"], name="unique_release_pin")
        ]

    def __str__(self):
        return f"{self.release.key} pins {self.library} {self.version}"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#packaging"

    def clean(self):
        _require_shared_library(self)


def _require_shared_library(obj) -> None:
    from releases.libraries import is_shared_library

    if obj.library_id and not is_shared_library(obj.library):
        raise ValidationError(
            {
                "library": f"{obj.library.slug} is not a shared library: no service links it "
                "as a library dependency."
            }
        )
