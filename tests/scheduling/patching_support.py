"""Builders shared by the patching and freeze-watch tests."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from releases import lifecycle
from releases.choices import ReleaseState
from releases.models import Release
from scheduling.models import Vulnerability
from tests.factories import ReleaseFactory


def vulnerability(services, cvss="9.8", discovered_hours_ago=1, cve=None, status="open", **kw):
    """A saved vulnerability (severity and due date computed by the model's save path)."""
    vulnerability.counter += 1
    v = Vulnerability(
        cve_id=cve or f"CVE-2024-{10000 + vulnerability.counter}",
        title=kw.pop("title", "Test vulnerability"),
        cvss=Decimal(str(cvss)),
        discovered_at=timezone.now() - timedelta(hours=discovered_hours_ago),
        status=status,
        **kw,
    )
    v.save_with_reason("test")
    v.services.set(services)
    return v


vulnerability.counter = 0


def released(service, version, author):
    """A release of ``service`` at ``version`` that reached production (state deployed)."""
    release = ReleaseFactory(author=author, version=version, services=[(service, version)])
    Release.objects.filter(pk=release.pk).update(state=ReleaseState.DEPLOYED)
    return release


def approved_release(author, approver, services, start, hours=2, **kw):
    release = ReleaseFactory(
        author=author,
        services=[(s, "2.0.0") for s in services],
        planned_start=start,
        planned_end=start + timedelta(hours=hours),
        **kw,
    )
    lifecycle.submit(release, author)
    lifecycle.approve(release, approver)
    release.refresh_from_db()
    return release
