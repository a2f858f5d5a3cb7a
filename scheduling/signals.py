"""Data every installation starts with, ensured after every migrate (and after a test flush)."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver

# The patch SLA of each severity until a compliance officer changes it (hours to patch).
DEFAULT_PATCH_SLA_HOURS = {"critical": 48, "high": 168, "medium": 720, "low": 2160}


def ensure_default_patch_slas(using: str = "default") -> int:
    """Give each severity without a patch SLA its default; returns how many were added.
    Existing policies (changed ones included) are left as they are."""
    from scheduling.models import PatchSlaPolicy

    have = set(PatchSlaPolicy.objects.using(using).values_list("severity", flat=True))
    missing = [s for s in DEFAULT_PATCH_SLA_HOURS if s not in have]
    for severity in missing:
        PatchSlaPolicy.objects.using(using).get_or_create(
            severity=severity, defaults={"hours": DEFAULT_PATCH_SLA_HOURS[severity]}
        )
    return len(missing)


@receiver(post_migrate)
def default_patch_slas_after_migrate(sender, using="default", **kwargs):
    # The scheduling migration 0004 adds them too; this also covers a database built from
    # the models (tests) and a flushed one.
    if sender.name == "scheduling":
        ensure_default_patch_slas(using)
