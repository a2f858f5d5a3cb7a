"""Builders for the late-defect tests (plain functions; fixtures stay in each module)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from governance import defects
from governance.models import Defect, RiskAcceptance


def defect(release, user, severity="high", title="Refund rounds half-cents down", **fields):
    return defects.report_defect(release, user, title=title, severity=severity, **fields)


def accept(release, found, user, days=7, rationale="Affects < 0.1% of refunds; fix in 4.2.1."):
    return defects.accept_residual_risk(
        release, found, user, rationale, timezone.now() + timedelta(days=days)
    )


def footprint():
    """Defects, acceptances and their history rows: a refused request changes none of them."""
    return (
        Defect.objects.count(),
        Defect.history.count(),
        RiskAcceptance.objects.count(),
        RiskAcceptance.history.count(),
    )
