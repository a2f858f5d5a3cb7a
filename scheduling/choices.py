from django.db import models


class WindowKind(models.TextChoices):
    FREEZE = "freeze", "Freeze"
    BLACKOUT = "blackout", "Blackout (peak business period)"
    MAINTENANCE = "maintenance", "Maintenance"
    RELEASE_WINDOW = "release_window", "Preferred release window"


# Windows that stop deployments (the others inform or invite them).
BLOCKING_KINDS = (WindowKind.FREEZE, WindowKind.BLACKOUT)


class Hardness(models.TextChoices):
    HARD = "hard", "Hard (deny)"
    SOFT = "soft", "Soft (warn, reason required)"


class ExceptionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class ReservationPurpose(models.TextChoices):
    UAT = "uat", "User acceptance testing"
    PERFORMANCE = "performance", "Performance testing"
    INTEGRATION = "integration", "Integration testing"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class VulnerabilityStatus(models.TextChoices):
    OPEN = "open", "Open"
    PATCHING = "patching", "Patch release planned"
    PATCHED = "patched", "Patched"
    ACCEPTED = "accepted", "Risk accepted"


BLOCKING_KIND_CHOICES = [(k.value, k.label) for k in BLOCKING_KINDS]
