"""Stabilisation and metrics models, one module per area (DESIGN: metrics/).

Each area imports its models here, one line per area.
"""

from metrics.models.adaptive import PolicySuggestion  # noqa: F401
from metrics.models.checklists import (  # noqa: F401,E501
    ChecklistRun,
    ChecklistRunItem,
    ChecklistTemplate,
    ChecklistVersion,
)
from metrics.models.drift import ConfigBaseline, ConfigSnapshot, DriftItem  # noqa: F401
from metrics.models.history import CommitRecord, DeploymentRecord  # noqa: F401
from metrics.models.incidents import Incident, RecoveryDecision  # noqa: F401
from metrics.models.integrity import IntegrityCheck, IntegrityResult  # noqa: F401
from metrics.models.kpis import Kpi, KpiSample  # noqa: F401
from metrics.models.postmortems import (  # noqa: F401,E501
    ActionItem,
    ContributingFactor,
    PostMortem,
    TimelineEntry,
)
from metrics.models.quality import QualityWeights, ReleaseQualityScore  # noqa: F401
from metrics.models.rollups import DailyRollup, RollupDay  # noqa: F401
from metrics.models.runbooks import Runbook, RunbookCheck, RunbookVersion  # noqa: F401
from metrics.models.stabilisation import KpiAlert, StabilisationWindow  # noqa: F401
from metrics.models.tickets import SupportTicket, TicketClassification  # noqa: F401
