"""Demo scope negotiation and tech debt (run by ``seed_demo``; idempotent): a pending request
on a draft release, a declined one, an emergency hotfix (draft) on the service of the earliest
scheduled feature release, so both show the conflict and its options, tech-debt items with
estimates (one deferred into the maintenance backlog) and a draft maintenance release that can
take it. Versions are unique to these releases, so the README's gate examples are unchanged."""

from datetime import timedelta

from django.utils import timezone

from releases import scope_changes
from releases.choices import ChangeType, ReleaseKind, ReleaseState, ScopeDecision, ScopeKind
from releases.models import (
    Release,
    ReleaseService,
    ScopeChangeRequest,
    ScopeItem,
    Service,
    TechDebtEstimate,
)

MAINTENANCE = "Quarterly maintenance"
HOTFIX = "Hotfix: duplicate charge on retry"


def _release(name, author, service, version, *, kind, change_type=ChangeType.NORMAL, hours):
    release = Release.objects.filter(name=name).first()
    if release is not None:
        return release
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours)
    release = Release(
        name=name,
        version=version,
        kind=kind,
        change_type=change_type,
        author=author,
        owner=author,
        planned_start=start,
        planned_end=start + timedelta(hours=2),
    )
    release.save_with_reason("created", user=author)
    ReleaseService.objects.create(release=release, service=service, version=version)
    return release


def _debt(release, service, title, effort, reduction, user, deferred=False):
    item, created = ScopeItem.objects.get_or_create(
        release=release,
        title=title,
        defaults={"kind": ScopeKind.TECH_DEBT, "service": service},
    )
    if created and deferred:
        item.decision = ScopeDecision.DEFERRED
        item.rationale = "No room in this release; the maintenance release takes it."
        item.save_with_reason("deferred", user=user)
    TechDebtEstimate.objects.get_or_create(
        scope_item=item, defaults={"effort_days": effort, "risk_reduction": reduction}
    )
    return item


def demo(users: dict, envs: dict) -> None:
    if ScopeChangeRequest.objects.exists():
        return
    developer, manager, owner = (
        users.get(r) for r in ("developer", "release_manager", "product_owner")
    )
    if developer is None or manager is None or owner is None:
        return
    draft = (
        Release.objects.filter(state=ReleaseState.DRAFT, kind=ReleaseKind.FEATURE)
        .exclude(release_services=None)
        .order_by("created")
        .first()
    )
    if draft is not None:
        service = draft.release_services.select_related("service").first().service
        scope_changes.request_change(
            draft,
            developer,
            kind="add",
            title="Export statements to CSV",
            reason="Finance needs the export for the quarter close.",
            impact_on_plan="Two more days of regression testing on statements.",
            plan_shift_days=2,
            service=service,
        )
        declined = scope_changes.request_change(
            draft,
            manager,
            kind="add",
            title="Dark mode for the admin console",
            reason="Requested by support for night shifts.",
            impact_on_plan="A week of design and testing.",
            plan_shift_days=7,
        )
        decider = next(iter(scope_changes.deciders(draft)), owner)
        scope_changes.decide(
            declined, decider, accept=False, note="Not this release: it would slip the date."
        )
        _debt(draft, service, "Replace the hand-rolled retry loop", "1.5", 4, developer)
        _debt(draft, service, "Remove the v1 statements endpoint", "6", 2, developer, True)
    scheduled = (
        Release.objects.filter(
            kind=ReleaseKind.FEATURE,
            state__in=[ReleaseState.SUBMITTED, ReleaseState.APPROVED],
            planned_start__gt=timezone.now() + timedelta(hours=12),
        )
        .exclude(release_services=None)
        .order_by("planned_start")
        .first()
    )
    if scheduled is not None:
        service = scheduled.release_services.select_related("service").first().service
        _release(
            HOTFIX,
            developer,
            service,
            "9.9.1-hotfix.1",
            kind=ReleaseKind.HOTFIX,
            change_type=ChangeType.EMERGENCY,
            hours=6,
        )
    platform = Service.objects.filter(team__slug="platform").order_by("slug").first()
    if platform is not None:
        _release(
            MAINTENANCE,
            manager,
            platform,
            "9.9.0-maint.1",
            kind=ReleaseKind.MAINTENANCE,
            hours=24 * 20,
        )
