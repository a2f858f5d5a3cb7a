from django.db import models


class Tier(models.IntegerChoices):
    TIER_1 = 1, "Tier 1 (mission critical)"
    TIER_2 = 2, "Tier 2 (business critical)"
    TIER_3 = 3, "Tier 3 (business operational)"
    TIER_4 = 4, "Tier 4 (administrative)"


class RiskProfile(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class DependencyKind(models.TextChoices):
    RUNTIME = "runtime", "Runtime (calls it)"
    LIBRARY = "library", "Shared library"


class ReleaseKind(models.TextChoices):
    FEATURE = "feature", "Feature"
    MAINTENANCE = "maintenance", "Maintenance"
    HOTFIX = "hotfix", "Hotfix"
    SECURITY_PATCH = "security_patch", "Security patch"


class ChangeType(models.TextChoices):
    STANDARD = "standard", "Standard"
    NORMAL = "normal", "Normal"
    EMERGENCY = "emergency", "Emergency"


class ReleaseState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    DEPLOYING = "deploying", "Deploying"
    DEPLOYED = "deployed", "Deployed"
    CLOSED = "closed", "Closed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    ROLLED_BACK = "rolled_back", "Rolled back"


class ScopeKind(models.TextChoices):
    FEATURE = "feature", "Feature"
    FIX = "fix", "Fix"
    TECH_DEBT = "tech_debt", "Tech debt"
    SCHEMA_MIGRATION = "schema_migration", "Schema migration"
    CONFIG = "config", "Configuration"
    SECURITY_PATCH = "security_patch", "Security patch"
    ACCESS_CONTROL = "access_control", "Access control change"
    AUDIT_TRAIL = "audit_trail", "Audit trail change"
    # Changes a batch or ETL job: the release needs data integrity checks (metrics.integrity).
    BATCH_JOB = "batch_job", "Batch / ETL job change"


class ScopeDecision(models.TextChoices):
    INCLUDED = "included", "Included"
    DEFERRED = "deferred", "Deferred"
    REMOVED = "removed", "Removed"


class DeploymentStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    HALTED = "halted", "Halted"
    ROLLED_BACK = "rolled_back", "Rolled back"
    # Some targets succeeded, some failed (releases.rollout); not succeeded, not running.
    PARTIALLY_FAILED = "partially_failed", "Partially failed"


class DeploymentStrategy(models.TextChoices):
    ROLLING = "rolling", "Rolling"
    BLUE_GREEN = "blue_green", "Blue-green"
    CANARY = "canary", "Canary"
    RECREATE = "recreate", "Recreate"


class EventType(models.TextChoices):
    NODE = "node", "Node result"
    SMOKE = "smoke", "Smoke test"
    HEALTH = "health", "Health check"
    LOG = "log", "Log message"
    PLAN = "plan", "Target plan"
    DECISION = "decision", "Decision"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    HALTED = "halted", "Halted"
    ROLLED_BACK = "rolled_back", "Rolled back"


class EventStatus(models.TextChoices):
    OK = "ok", "OK"
    FAILED = "failed", "Failed"
    INFO = "info", "Info"


class GateStatus(models.TextChoices):
    ALLOWED = "allowed", "Allowed"
    WAITING = "waiting", "Waiting"
    PREVENTED = "prevented", "Prevented"
