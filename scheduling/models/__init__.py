from scheduling.models.base import Environment, FreezeWindow
from scheduling.models.exceptions import FreezeException
from scheduling.models.planning import ReleaseDependency, ValidationNeed, VendorDeliverable
from scheduling.models.regions import GoLiveRule, Region
from scheduling.models.reservations import Reservation, TestDataSet
from scheduling.models.vulnerabilities import PatchSlaPolicy, Vulnerability

__all__ = [
    "Environment",
    "FreezeException",
    "FreezeWindow",
    "GoLiveRule",
    "PatchSlaPolicy",
    "Region",
    "ReleaseDependency",
    "Reservation",
    "TestDataSet",
    "ValidationNeed",
    "VendorDeliverable",
    "Vulnerability",
]
