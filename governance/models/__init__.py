from governance.choices import ApprovalDecision
from governance.models.approvals import Approval
from governance.models.cab import AgendaItem, CabMeeting, Vote
from governance.models.change_types import ChangeModel, Retrospective
from governance.models.decision_log import AppendOnlyError, ChainHead, DecisionRecord
from governance.models.defects import BLOCKING_SEVERITIES, Defect, RiskAcceptance
from governance.models.evidence import EvidencePack
from governance.models.policy import ApprovalRequirement, ApprovalRule, PolicyVersion
from governance.models.register import RegisterEntry
from governance.models.risk import RiskAssessment, RiskConfig

__all__ = [
    "AgendaItem",
    "AppendOnlyError",
    "Approval",
    "ApprovalDecision",
    "ApprovalRequirement",
    "ApprovalRule",
    "BLOCKING_SEVERITIES",
    "CabMeeting",
    "ChainHead",
    "ChangeModel",
    "DecisionRecord",
    "Defect",
    "EvidencePack",
    "PolicyVersion",
    "RegisterEntry",
    "Retrospective",
    "RiskAcceptance",
    "RiskAssessment",
    "RiskConfig",
    "Vote",
]
