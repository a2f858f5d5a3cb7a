"""Demo data for change types and risk (run by ``seed_demo``; idempotent).

- three standard change models in the catalogue, pre-approved by the CAB member;
- the sensitive areas of the services that implement access control, audit trails,
  payments and personal data (the approval policy matches on them);
- the risk configuration row (default weights and bands);
- emergency retrospectives: approving an emergency change opens its review (the lifecycle
  does), so every approved demo emergency change has one and no unapproved one has; an
  emergency session fix approved a week ago has a review that is overdue.

``groundwork`` (models, sensitive areas, risk configuration) runs before ``seed_demo``
submits its first release, so the risk scored and the rules matched at submission are real.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from governance import change_types
from governance.demo_policy import approve_as_required
from governance.models import ChangeModel, Retrospective, RiskConfig
from releases import lifecycle
from releases.choices import ChangeType, ReleaseKind, ReleaseState
from releases.models import Release, ReleaseService, Service

# slug: (name, description, services, steps, risk ceiling)
CHANGE_MODELS = {
    "certificate-rotation": (
        "Certificate rotation",
        "Renew a TLS certificate before it expires, same key size and issuer.",
        ["web-storefront", "auth-service", "payments-api", "checkout-service"],
        "Issue the new certificate from the internal CA\n"
        "Upload it to the secret store with the pipeline\n"
        "Roll the ingress pods one by one\n"
        "Check the chain and expiry with the TLS probe",
        "medium",
    ),
    "feature-flag-toggle": (
        "Feature flag toggle",
        "Switch an existing, tested feature flag on or off for a share of users.",
        ["web-storefront", "mobile-bff", "catalog-service", "user-profile"],
        "Confirm the flag was tested in staging\n"
        "Change the rollout percentage in the flag service\n"
        "Watch error rate and latency for 30 minutes\n"
        "Record the change in the release notes",
        "low",
    ),
    "dependency-patch-bump": (
        "Dependency patch bump",
        "Patch-level update of a shared library (no API change), e.g. a CVE fix.",
        ["common-lib", "observability-agent", "notification-service"],
        "Bump the patch version in the lock file\n"
        "Run the full test suite and the dependency scan\n"
        "Deploy with the pipeline's rolling strategy\n"
        "Check the service dashboards for an hour",
        "low",
    ),
}

SENSITIVE_AREAS = {
    "auth-service": ["access_control", "audit_trail"],
    "payments-api": ["payments", "audit_trail"],
    "ledger": ["payments", "audit_trail"],
    "user-profile": ["personal_data"],
}

OVERDUE_RELEASE = ("Session cookie hardening", "4.9.1")
RETRO_STATES = (
    ReleaseState.APPROVED,
    ReleaseState.DEPLOYING,
    ReleaseState.DEPLOYED,
    ReleaseState.CLOSED,
    ReleaseState.ROLLED_BACK,
)


def _change_models(users) -> None:
    services = {s.slug: s for s in Service.objects.filter(slug__in=_all_slugs())}
    for slug, (name, description, service_slugs, steps, ceiling) in CHANGE_MODELS.items():
        if ChangeModel.objects.filter(slug=slug).exists():
            continue
        model = ChangeModel(
            slug=slug,
            name=name,
            description=description,
            steps=steps,
            risk_ceiling=ceiling,
            owner=users["release_manager"],
            approved_by=users["cab_member"],
        )
        model.save_with_reason("Pre-approved at CAB", user=users["cab_member"])
        model.services.set([services[s] for s in service_slugs if s in services])


def _all_slugs() -> set[str]:
    return {s for _n, _d, slugs, _s, _c in CHANGE_MODELS.values() for s in slugs}


def _sensitive_areas(users) -> None:
    for service in Service.objects.filter(slug__in=SENSITIVE_AREAS):
        wanted = SENSITIVE_AREAS[service.slug]
        if service.sensitive_areas != wanted:
            service.sensitive_areas = wanted
            service.save_with_reason("Sensitive areas recorded", user=users["release_manager"])


def _overdue_emergency(users) -> None:
    """An emergency fix approved a week ago whose review nobody wrote yet."""
    name, version = OVERDUE_RELEASE
    if Release.objects.filter(name=name, version=version).exists():
        return
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    release = Release(
        name=name,
        version=version,
        kind=ReleaseKind.HOTFIX,
        change_type=ChangeType.EMERGENCY,
        author=users["developer"],
        owner=users["release_manager"],
        planned_start=start,
        planned_end=start + timedelta(hours=1),
        description="Session cookies lacked SameSite=strict; fixed the same night.",
        rollback_plan="Redeploy 4.9.0.",
        touches=["access_control"],
    )
    release.save_with_reason("created", user=users["developer"])
    ReleaseService.objects.create(
        release=release, service=Service.objects.get(slug="auth-service"), version=version
    )
    # Through the lifecycle like a real one: the emergency CAB member and, as it touches
    # access control, the compliance officer; the last approval opens the review.
    lifecycle.submit(release, users["developer"], "Session hijack risk reported by security")
    approve_as_required(
        release,
        [users["cab_member"], users["compliance_officer"], users["cab_member2"]],
        "Emergency: fix tonight, review afterwards.",
    )
    # It was approved a week ago: its review is two days late.
    Retrospective.objects.filter(release=release).update(due_at=timezone.now() - timedelta(days=2))


def groundwork(users) -> None:
    """What the risk score and the policy read, written before any demo submission."""
    _change_models(users)
    _sensitive_areas(users)
    RiskConfig.current()


def demo(users, envs) -> None:
    groundwork(users)
    _overdue_emergency(users)
    # Approving opens the review; this only covers emergency changes approved before that.
    for release in Release.objects.filter(
        change_type=ChangeType.EMERGENCY, state__in=RETRO_STATES, retrospective__isnull=True
    ):
        change_types.open_retrospective(release, users["cab_member"])
