from releases.models.catalog import Service, ServiceDependency, Team
from releases.models.deployment import Deployment, DeploymentEvent, GateDecision
from releases.models.interfaces import (
    ApiChange,
    ApiConsumer,
    ApiVersion,
    IntegrationFlow,
    IntegrationTestPlan,
    TeamSignOff,
)
from releases.models.packaging import (
    Artifact,
    CompensatingScript,
    ConfigSet,
    MigrationPlan,
    RollbackPackage,
)
from releases.models.release import Release, ReleaseService, ScopeItem
from releases.models.resilience import DrResult, DrTest, RollbackStep
from releases.models.scope_changes import ScopeChangeRequest, TechDebtEstimate
from releases.models.targets import DeploymentTarget, RolloutDecision
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain, TrainCar
from releases.models.validation import QualityGate, TestResult

__all__ = [
    "ApiChange",
    "ApiConsumer",
    "ApiVersion",
    "Artifact",
    "CompensatingScript",
    "ConfigSet",
    "Deployment",
    "DeploymentEvent",
    "DeploymentTarget",
    "DrResult",
    "DrTest",
    "GateDecision",
    "IntegrationFlow",
    "IntegrationTestPlan",
    "LibraryUsage",
    "MigrationPlan",
    "QualityGate",
    "Release",
    "ReleaseLibraryPin",
    "ReleaseService",
    "ReleaseTrain",
    "RollbackPackage",
    "RollbackStep",
    "RolloutDecision",
    "ScopeChangeRequest",
    "ScopeItem",
    "Service",
    "ServiceDependency",
    "Team",
    "TeamSignOff",
    "TechDebtEstimate",
    "TestResult",
    "TrainCar",
]
