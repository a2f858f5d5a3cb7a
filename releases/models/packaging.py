"""Packaging: the artifacts a release ships, per-environment configuration kept outside them,
how schema migrations are delivered, and the rollback package (issue 5, items 6, 7, 9, 11).

The rules (secret refusal, migration advice, rollback package contents) are in
``releases.packaging``.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from releases.validators import validate_version

SHA256_MESSAGE = "Enter the SHA-256 checksum: exactly 64 hexadecimal characters (0-9, a-f)."
SHA256_REQUIRED = "An artifact needs its SHA-256 checksum (64 hexadecimal characters)."

validate_sha256 = RegexValidator(
    r"^[0-9a-fA-F]{64}$", message=SHA256_MESSAGE, code="invalid_sha256"
)


class ArtifactKind(models.TextChoices):
    CONTAINER_IMAGE = "container_image", "Container image"
    BINARY = "binary", "Binary"
    DB_MIGRATION = "db_migration", "DB migration"
    CONFIG_BUNDLE = "config_bundle", "Config bundle"
    ROLLBACK_SCRIPT = "rollback_script", "Rollback script"


class MigrationPhase(models.TextChoices):
    EXPAND = "expand", "Expand (additive, old code keeps working)"
    CONTRACT = "contract", "Contract (removes what old code needs)"
    OTHER = "other", "Other"


class MigrationDelivery(models.TextChoices):
    BUNDLED = "bundled", "Bundled with the application deployment"
    SEPARATE_STEP_BEFORE = "separate_step_before", "Separate migration step before it"


def _normalise_sha(value: str) -> str:
    return (value or "").strip().lower()


class Artifact(BaseModel):
    """A built thing a release ships for one service (image, binary, migration, config bundle,
    rollback script), identified by its version and SHA-256 checksum.

    Environment-specific settings do not belong in it; they live in ``ConfigSet``.
    """

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="artifacts"
    )
    service = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="artifacts"
    )
    kind = models.CharField(max_length=20, choices=ArtifactKind.choices)
    name = models.CharField(max_length=200, help_text="e.g. registry/payments-api or V42__add_x")
    version = models.CharField(max_length=50, validators=[validate_version])
    sha256 = models.CharField(
        "SHA-256",
        max_length=64,
        validators=[validate_sha256],
        error_messages={"blank": SHA256_REQUIRED, "null": SHA256_REQUIRED},
    )
    uri = models.CharField(max_length=500, blank=True, help_text="Where the artifact is stored.")
    content = models.TextField(
        blank=True,
        help_text="Manifest or configuration content; checked for environment-specific values "
        "and refused when it embeds secrets.",
    )

    class Meta:
        ordering = ["service__name", "kind", "name"]

    def __str__(self):
        return f"{self.name} {self.version}"

    def get_absolute_url(self):
        return reverse("artifact_detail", args=[self.pk])

    def clean(self):
        self.sha256 = _normalise_sha(self.sha256)


class ConfigSet(BaseModel):
    """Settings of one service in one environment, kept outside the artifacts.

    Secrets are never stored here: a value is a literal setting or a reference such as
    ``vault:payments/db``.
    """

    service = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="config_sets"
    )
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="config_sets"
    )
    version = models.CharField(max_length=50, validators=[validate_version])
    values = models.JSONField(default=dict, blank=True, help_text="{key: value}")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["service__name", "environment__order", "-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "environment", "version"], name="unique_config_set_version"
            )
        ]

    def __str__(self):
        return f"{self.service} @ {self.environment} v{self.version}"

    def get_absolute_url(self):
        return reverse("config_set_detail", args=[self.pk])

    def clean(self):
        if not isinstance(self.values, dict) or any(
            not isinstance(k, str) or isinstance(v, (dict, list)) for k, v in self.values.items()
        ):
            raise ValidationError(
                {"values": "Give the settings as an object of keys to plain values."}
            )


class MigrationPlan(BaseModel):
    """How a schema-migration scope item is delivered: backward compatible or not, its
    expand/contract phase, bundled with the application or run as a step before it, and why."""

    scope_item = models.OneToOneField(
        "releases.ScopeItem", on_delete=models.CASCADE, related_name="migration_plan"
    )
    backward_compatible = models.BooleanField(
        help_text="Old application code keeps working against the migrated schema."
    )
    phase = models.CharField(max_length=10, choices=MigrationPhase.choices)
    delivery = models.CharField(max_length=24, choices=MigrationDelivery.choices)
    reason = models.TextField(blank=True, help_text="Why this delivery was chosen.")

    class Meta:
        ordering = ["scope_item__release", "scope_item__title"]

    def __str__(self):
        return f"Migration plan: {self.scope_item}"

    def get_absolute_url(self):
        return self.scope_item.release.get_absolute_url() + "#packaging"

    def clean(self):
        if self.scope_item_id and self.scope_item.kind != "schema_migration":
            raise ValidationError(
                {"scope_item": "A migration plan belongs to a schema-migration scope item."}
            )


class CompensatingScript(BaseModel):
    """The script that undoes a DB migration artifact, for the rollback package."""

    artifact = models.ForeignKey(
        Artifact, on_delete=models.CASCADE, related_name="compensating_scripts"
    )
    script = models.TextField(blank=True)
    uri = models.CharField(max_length=500, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True, validators=[validate_sha256])
    tested = models.BooleanField(default=False, help_text="Run against a copy of production data.")

    class Meta:
        ordering = ["artifact", "-created"]

    def __str__(self):
        return f"Compensating script for {self.artifact}"

    def get_absolute_url(self):
        return self.artifact.get_absolute_url()

    def clean(self):
        self.sha256 = _normalise_sha(self.sha256)
        if self.artifact_id and self.artifact.kind != ArtifactKind.DB_MIGRATION:
            raise ValidationError(
                {"artifact": "A compensating script undoes a DB migration artifact."}
            )
        if not self.script.strip() and not self.uri.strip():
            raise ValidationError({"script": "Give the script text or where it is stored (URI)."})
        if self.uri.strip() and not self.script.strip() and not self.sha256:
            raise ValidationError({"sha256": "A stored script needs its SHA-256 checksum."})


class RollbackPackage(BaseModel):
    """A snapshot of what rolling a release back would deploy: the previous artifact versions
    of each service and the compensating scripts of its migrations."""

    release = models.OneToOneField(
        "releases.Release", on_delete=models.CASCADE, related_name="rollback_package"
    )
    contents = models.JSONField(default=dict)
    built_at = models.DateTimeField()
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-built_at"]

    def __str__(self):
        return f"Rollback package of {self.release.key}"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#packaging"
