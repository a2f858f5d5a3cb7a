"""Choice sets of the governance app (change types, risk, CAB, defects, register, log)."""

from django.db import models


class RiskBand(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Band order, lowest first: "at least high" means high or critical.
BAND_ORDER = [RiskBand.LOW, RiskBand.MEDIUM, RiskBand.HIGH, RiskBand.CRITICAL]


class ApprovalDecision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Touches(models.TextChoices):
    """Sensitive areas a release can touch; policy rules match on them."""

    ACCESS_CONTROL = "access_control", "Access control"
    AUDIT_TRAIL = "audit_trail", "Audit trails"
    PERSONAL_DATA = "personal_data", "Personal data"
    PAYMENTS = "payments", "Payments / money movement"
    SCHEMA = "schema", "Database schema"


class MeetingKind(models.TextChoices):
    REGULAR = "regular", "Regular CAB"
    EMERGENCY = "emergency", "Emergency CAB"


class MeetingStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class VoteChoice(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"
    ABSTAIN = "abstain", "Abstain"


class AgendaOutcome(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    DEFERRED = "deferred", "Deferred"


class DefectSeverity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class DefectStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    WONT_FIX = "wont_fix", "Won't fix"


class RegisterKind(models.TextChoices):
    RISK = "risk", "Risk"
    KNOWN_ERROR = "known_error", "Known error"


class RegisterStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    ACCEPTED = "accepted", "Accepted"
    CLOSED = "closed", "Closed"


class DecisionKind(models.TextChoices):
    """What kind of decision a decision-log entry records."""

    APPROVAL = "approval", "Approval"
    REJECTION = "rejection", "Rejection"
    VOTE = "vote", "CAB vote"
    MEETING_OUTCOME = "meeting_outcome", "CAB outcome"
    STANDARD_CHANGE = "standard_change", "Standard change pre-approval"
    FREEZE_EXCEPTION = "freeze_exception", "Freeze exception"
    OUT_OF_CYCLE = "out_of_cycle", "Out-of-cycle deployment"
    RISK_ACCEPTANCE = "risk_acceptance", "Residual-risk acceptance"
    DELAY = "delay", "Release delayed"
    SOD_REFUSAL = "sod_refusal", "Segregation-of-duties refusal"
    GATE = "gate", "Gate answer"
    POLICY_CHANGE = "policy_change", "Policy change"
    RETROSPECTIVE = "retrospective", "Emergency retrospective"
    SIGN_OFF = "sign_off", "Sign-off"
    ROLLOUT = "rollout", "Deployment rollout decision"
    RECOVERY = "recovery", "Rollback or fix-forward decision"
    STABILISATION = "stabilisation", "Stabilisation verdict"


class EvidenceStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Building"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
