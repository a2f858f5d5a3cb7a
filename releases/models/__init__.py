from releases.models.catalog import Service, ServiceDependency, Team
from releases.models.deployment import Deployment, DeploymentEvent, GateDecision
from releases.models.release import Release, ReleaseService, ScopeItem

__all__ = [
    "Deployment",
    "DeploymentEvent",
    "GateDecision",
    "Release",
    "ReleaseService",
    "ScopeItem",
    "Service",
    "ServiceDependency",
    "Team",
]
