"""Evidence for regulators: what an evidence pack holds, who may ask for one, and building it.

A pack covers one release, or every release of a service whose planned start or any
deployment falls in [since, until) (UTC dates). ``collect`` gathers every record about those
releases and the history of each; ``build`` writes them into a zip (JSON + CSV per record
type, a self-contained ``report.html``, the decision-log chain verification, and a
``manifest.json`` with the SHA-256 and size of every other file). Building is claimed with a
conditional update, so two workers never build the same pack.

There is no test-result model yet: "test results" are the smoke and health events pipelines
report on deployments, plus the validation needs (hours per environment) of each release.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from governance.models import (
    AgendaItem,
    Approval,
    ApprovalRequirement,
    DecisionRecord,
    Defect,
    EvidencePack,
    RegisterEntry,
    Retrospective,
    RiskAcceptance,
    RiskAssessment,
    Vote,
)
from releasemgr.decisions import DomainError, NotPermitted, Reason
from releases.choices import EventType
from releases.models import (
    Deployment,
    DeploymentEvent,
    GateDecision,
    Release,
    ReleaseService,
    ScopeItem,
    Service,
    Team,
)
from scheduling.models import Environment, FreezeException, ValidationNeed

PERMISSION = "governance.export_evidence"
# A worker that died mid-build leaves the pack "running"; after this, another may take it over.
STALE_AFTER = timedelta(minutes=30)
FORMAT_VERSION = 1


class InvalidRequest(DomainError):
    status_code = 400
    code = "invalid"


def evidence_dir() -> Path:
    path = Path(settings.EVIDENCE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def archive_path(pack: EvidencePack) -> Path:
    return evidence_dir() / pack.file_name


# --- requesting ---------------------------------------------------------------------------------


def request_pack(user, *, release=None, service=None, since=None, until=None) -> EvidencePack:
    """Queue a pack for one release, or a service's releases in [since, until).

    The build always runs in the Celery job (enqueued when the transaction commits): even a
    one-release pack reads every record's history, and the page shows progress either way.
    """
    if not user.has_perm(PERMISSION):
        raise NotPermitted(f"{user.get_username()} may not export evidence (needs {PERMISSION}).")
    pack = EvidencePack(
        release=release, service=service, since=since, until=until, requested_by=user
    )
    if release is not None and (since or until):
        message = "A release pack covers the whole release; leave the date range empty."
        raise InvalidRequest(message, [Reason("invalid", False, message, {"field": None})])
    try:
        pack.full_clean()
    except ValidationError as exc:
        reasons = [
            Reason("invalid", False, message, {"field": None if name == "__all__" else name})
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
        raise InvalidRequest("; ".join(r.message for r in reasons), reasons) from exc
    with transaction.atomic():
        pack.save_with_reason("requested", user=user)
        transaction.on_commit(lambda: enqueue(pack.pk))
    return pack


def enqueue(pack_id: int) -> None:
    from governance.jobs_evidence import build_evidence_pack

    build_evidence_pack.delay(pack_id)


# --- what a pack covers ---------------------------------------------------------------------------


def _day(value: date) -> datetime:
    return datetime.combine(value, time.min, tzinfo=UTC)


def select_releases(pack: EvidencePack) -> QuerySet:
    if pack.release_id:
        return Release.objects.filter(pk=pack.release_id)
    since, until = _day(pack.since), _day(pack.until)
    deployed = Deployment.objects.filter(
        release__release_services__service_id=pack.service_id,
        started_at__gte=since,
        started_at__lt=until,
    ).values("release_id")
    return (
        Release.objects.filter(release_services__service_id=pack.service_id)
        .filter(Q(planned_start__gte=since, planned_start__lt=until) | Q(pk__in=deployed))
        .distinct()
        .order_by("planned_start", "key")
    )


# --- turning records into rows --------------------------------------------------------------------


class Labels:
    """Names instead of ids for people, releases, services, environments and teams (few queries)."""

    def __init__(self, release_ids):
        self.maps = {
            get_user_model(): dict(get_user_model().objects.values_list("pk", "username")),
            Release: dict(Release.objects.filter(pk__in=release_ids).values_list("pk", "key")),
            Service: dict(Service.objects.values_list("pk", "slug")),
            Environment: dict(Environment.objects.values_list("pk", "slug")),
            Team: dict(Team.objects.values_list("pk", "slug")),
        }

    def of(self, model, pk):
        if pk is None:
            return None
        return self.maps.get(model, {}).get(pk, pk)


def plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return timezone.localtime(value, UTC).isoformat() if timezone.is_aware(value) else value
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    return value


def row_of(obj, labels: Labels) -> dict[str, Any]:
    out = {}
    for f in obj._meta.concrete_fields:
        value = getattr(obj, f.attname)
        out[f.name] = labels.of(f.related_model, value) if f.is_relation else plain(value)
    return out


@dataclass
class Kind:
    """One record type of the pack: its file name, model, rows and extra columns."""

    name: str
    model: Any
    query: Callable[[list, list], QuerySet]
    extra: Callable[[Any], dict] = field(default=lambda obj: {})
    history: bool = True


def _services_of(release_ids):
    return ReleaseService.objects.filter(release_id__in=release_ids).values("service_id")


KINDS = [
    Kind("releases", Release, lambda ids, keys: Release.objects.filter(pk__in=ids)),
    Kind(
        "release_services",
        ReleaseService,
        lambda ids, keys: ReleaseService.objects.filter(release_id__in=ids),
    ),
    Kind("scope_items", ScopeItem, lambda ids, keys: ScopeItem.objects.filter(release_id__in=ids)),
    Kind(
        "approval_requirements",
        ApprovalRequirement,
        lambda ids, keys: ApprovalRequirement.objects.filter(release_id__in=ids),
    ),
    Kind(
        "approvals",
        Approval,
        lambda ids, keys: Approval.objects.filter(release_id__in=ids).order_by("created"),
    ),
    Kind(
        "risk_assessments",
        RiskAssessment,
        lambda ids, keys: RiskAssessment.objects.filter(release_id__in=ids),
    ),
    Kind(
        "cab_agenda_items",
        AgendaItem,
        lambda ids, keys: AgendaItem.objects.filter(release_id__in=ids).select_related("meeting"),
        lambda item: {
            "meeting_title": item.meeting.title,
            "meeting_at": plain(item.meeting.scheduled_at),
        },
    ),
    Kind(
        "cab_votes",
        Vote,
        lambda ids, keys: Vote.objects.filter(item__release_id__in=ids).select_related("item"),
        lambda vote: {"release": vote.item.release_id},
    ),
    Kind(
        "test_results",
        DeploymentEvent,
        lambda ids, keys: DeploymentEvent.objects.filter(
            deployment__release_id__in=ids, type__in=[EventType.SMOKE, EventType.HEALTH]
        ).select_related("deployment"),
        lambda event: {
            "release": event.deployment.release_id,
            "environment": event.deployment.environment_id,
        },
        history=False,
    ),
    Kind(
        "validation_needs",
        ValidationNeed,
        lambda ids, keys: ValidationNeed.objects.filter(release_id__in=ids),
    ),
    Kind(
        "gate_decisions",
        GateDecision,
        lambda ids, keys: GateDecision.objects.filter(release_id__in=ids).order_by("created"),
        history=False,
    ),
    Kind(
        "deployments",
        Deployment,
        lambda ids, keys: Deployment.objects.filter(release_id__in=ids).order_by("started_at"),
    ),
    Kind(
        "deployment_events",
        DeploymentEvent,
        lambda ids, keys: DeploymentEvent.objects.filter(
            deployment__release_id__in=ids
        ).select_related("deployment"),
        lambda event: {"release": event.deployment.release_id},
        history=False,
    ),
    Kind(
        "freeze_exceptions",
        FreezeException,
        lambda ids, keys: FreezeException.objects.filter(release_id__in=ids),
    ),
    Kind(
        "risk_acceptances",
        RiskAcceptance,
        lambda ids, keys: RiskAcceptance.objects.filter(release_id__in=ids).prefetch_related(
            "defects"
        ),
        lambda acceptance: {"defects": sorted(d.pk for d in acceptance.defects.all())},
    ),
    Kind("defects", Defect, lambda ids, keys: Defect.objects.filter(release_id__in=ids)),
    Kind(
        "register_entries",
        RegisterEntry,
        lambda ids, keys: RegisterEntry.objects.filter(
            Q(release_id__in=ids) | Q(service_id__in=_services_of(ids))
        ),
    ),
    Kind(
        "retrospectives",
        Retrospective,
        lambda ids, keys: Retrospective.objects.filter(release_id__in=ids),
    ),
    Kind(
        "decision_log",
        DecisionRecord,
        lambda ids, keys: DecisionRecord.objects.filter(release_key__in=keys).order_by("sequence"),
        history=False,
    ),
]
KIND_NAMES = [k.name for k in KINDS]


def columns_of(kind: Kind, rows: list[dict]) -> list[str]:
    names = [f.name for f in kind.model._meta.concrete_fields]
    for row in rows[:1]:
        names += [k for k in row if k not in names]
    return names


def history_of(kind: Kind, ids: list, labels: Labels) -> list[dict]:
    """Every history row of these records: when, who, what type, why, which fields changed."""
    if not kind.history or not ids:
        return []
    tracked = [f for f in kind.model._meta.concrete_fields if f.name != "updated"]
    rows, previous = [], {}
    records = kind.model.history.filter(id__in=ids).order_by("id", "history_date", "history_id")
    for record in records.iterator(chunk_size=2000):
        before = previous.get(record.id)
        changed = (
            [f.name for f in tracked if getattr(before, f.attname) != getattr(record, f.attname)]
            if before is not None
            else []
        )
        previous[record.id] = record
        rows.append(
            {
                "record_type": kind.name,
                "model": kind.model._meta.label,
                "object_id": record.id,
                "history_id": record.history_id,
                "when": plain(record.history_date),
                "who": labels.of(get_user_model(), record.history_user_id),
                "type": {"+": "created", "~": "changed", "-": "deleted"}[record.history_type],
                "reason": record.history_change_reason or "",
                "via": getattr(record, "history_via", ""),
                "changed_fields": changed,
            }
        )
    return rows


HISTORY_COLUMNS = [
    "record_type",
    "model",
    "object_id",
    "history_id",
    "when",
    "who",
    "type",
    "reason",
    "via",
    "changed_fields",
]


def collect(pack: EvidencePack, progress: Callable[[int], None] | None = None) -> dict:
    """Every record of the pack's releases, by record type, plus ``history`` (all as rows)."""
    releases = list(select_releases(pack))
    ids, keys = [r.pk for r in releases], [r.key for r in releases]
    labels = Labels(ids)
    data: dict[str, list[dict]] = {}
    history: list[dict] = []
    for index, kind in enumerate(KINDS):
        objects = list(kind.query(ids, keys)) if ids else []
        data[kind.name] = [
            {**row_of(o, labels), **_labelled(kind.extra(o), labels)} for o in objects
        ]
        history += history_of(kind, [o.pk for o in objects], labels)
        if progress:
            progress(int(100 * (index + 1) / len(KINDS)))
    data["history"] = history
    return data


def _labelled(extra: dict, labels: Labels) -> dict:
    out = {}
    for name, value in extra.items():
        model = {"release": Release, "environment": Environment}.get(name)
        out[name] = labels.of(model, value) if model and isinstance(value, int) else value
    return out


def build(pack: EvidencePack) -> EvidencePack:
    """Build the pack's archive (see ``governance.evidence_build``)."""
    from governance.evidence_build import build_pack

    return build_pack(pack.pk)
