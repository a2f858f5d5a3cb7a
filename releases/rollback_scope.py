"""Rollback scope (curriculum 1.6): can each service of a release be undone within its SLA?

A release's rollback plan is a list of steps per shipped service (``RollbackStep``). For each
service the steps' estimated minutes are added up and set against the service's
``recovery_sla_minutes``; a plan that cannot meet the SLA is flagged with the numbers.

Services are put in rollback *groups*: customer-facing and backend services are never in the
same group, nor are services with different SLAs, so each group has one deadline and one
audience. Groups are ordered tightest SLA first (customer-facing first on a tie); inside a
group, dependents are rolled back before what they depend on (the dependency graph of
``ServiceDependency``, followed transitively), so nothing calls an old service with new
expectations. When a later group depends on an earlier one the plan says so: that order is
the SLA's choice, and the people rolling back should know the dependent runs ahead for a while.

The gate's ``rollback_plan`` check (production only) fails when a shipped service has no steps
and when a service's plan overruns its recovery SLA: the issue asks for such a plan to be
*flagged*, and a plan known not to meet the SLA is not a plan the gate should wave through.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction

from releasemgr.decisions import (  # noqa: F401
    DomainError,
    IllegalTransition,
    InvalidInput,
    Reason,
    require_permission,
)
from releases.choices import ReleaseState
from releases.models import Release, RollbackStep, Service, ServiceDependency

CODE = "rollback_plan"
ADD_PERMISSION = "releases.add_rollbackstep"
CHANGE_PERMISSION = "releases.change_rollbackstep"
DELETE_PERMISSION = "releases.delete_rollbackstep"
# Once a release has shipped (or will never ship) its rollback plan is a record, not a plan.
FINISHED_STATES = (
    ReleaseState.DEPLOYED,
    ReleaseState.CLOSED,
    ReleaseState.CANCELLED,
    ReleaseState.ROLLED_BACK,
)
EDITABLE_FIELDS = ("service", "position", "description", "estimated_minutes")


# --- the plan ---------------------------------------------------------------------------------


@dataclass
class ServiceRollback:
    service: Service
    steps: list[RollbackStep] = field(default_factory=list)

    @property
    def total_minutes(self) -> int:
        return sum(s.estimated_minutes for s in self.steps)

    @property
    def sla_minutes(self) -> int:
        return self.service.recovery_sla_minutes

    @property
    def has_plan(self) -> bool:
        return bool(self.steps)

    @property
    def overrun_minutes(self) -> int:
        return max(0, self.total_minutes - self.sla_minutes) if self.steps else 0

    @property
    def meets_sla(self) -> bool:
        return self.has_plan and self.total_minutes <= self.sla_minutes

    def as_dict(self) -> dict:
        return {
            "service": self.service.slug,
            "name": self.service.name,
            "customer_facing": self.service.customer_facing,
            "recovery_sla_minutes": self.sla_minutes,
            "total_minutes": self.total_minutes,
            "has_plan": self.has_plan,
            "meets_sla": self.meets_sla,
            "overrun_minutes": self.overrun_minutes,
            "steps": [
                {
                    "id": s.pk,
                    "position": s.position,
                    "description": s.description,
                    "estimated_minutes": s.estimated_minutes,
                }
                for s in self.steps
            ],
        }


@dataclass
class RollbackGroup:
    number: int
    customer_facing: bool
    sla_minutes: int
    services: list[ServiceRollback] = field(default_factory=list)

    @property
    def label(self) -> str:
        audience = "Customer-facing" if self.customer_facing else "Backend"
        return f"{audience}, recovery SLA {self.sla_minutes} min"

    def as_dict(self) -> dict:
        return {
            "number": self.number,
            "label": self.label,
            "customer_facing": self.customer_facing,
            "recovery_sla_minutes": self.sla_minutes,
            "services": [s.service.slug for s in self.services],
        }


@dataclass
class RollbackScope:
    release: Release
    groups: list[RollbackGroup] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def services(self) -> list[ServiceRollback]:
        return [s for g in self.groups for s in g.services]

    @property
    def missing(self) -> list[ServiceRollback]:
        return [s for s in self.services if not s.has_plan]

    @property
    def overruns(self) -> list[ServiceRollback]:
        return [s for s in self.services if s.has_plan and not s.meets_sla]

    @property
    def order(self) -> list[str]:
        return [s.service.slug for s in self.services]

    def as_dict(self) -> dict:
        return {
            "release": self.release.key,
            "order": self.order,
            "groups": [g.as_dict() for g in self.groups],
            "services": [s.as_dict() for s in self.services],
            "missing": [s.service.slug for s in self.missing],
            "overruns": [s.service.slug for s in self.overruns],
            "notes": list(self.notes),
        }


def _depends_on_closure(ids: set[int]) -> dict[int, set[int]]:
    """For each service in ``ids``, the services in ``ids`` it depends on, directly or through
    others (also through services the release does not ship). One query."""
    graph: dict[int, set[int]] = defaultdict(set)
    for src, dst in ServiceDependency.objects.values_list("service_id", "depends_on_id"):
        graph[src].add(dst)
    closure: dict[int, set[int]] = {}
    for start in ids:
        seen: set[int] = set()
        stack = list(graph.get(start, ()))
        while stack:
            node = stack.pop()
            if node in seen or node == start:
                continue
            seen.add(node)
            stack.extend(graph.get(node, ()))
        closure[start] = seen & ids
    return closure


def _dependents_first(members: list[ServiceRollback], closure: dict[int, set[int]], notes):
    """Order a group so that a service comes before everything it depends on (name order when
    nothing decides; a dependency cycle is broken by name and noted)."""
    remaining = sorted(members, key=lambda s: s.service.name)
    ordered: list[ServiceRollback] = []
    while remaining:
        ids = {s.service.pk for s in remaining}
        # Ready: no other remaining service depends on it.
        ready = [
            s
            for s in remaining
            if not any(s.service.pk in closure[o] for o in ids - {s.service.pk})
        ]
        if not ready:
            names = ", ".join(s.service.name for s in remaining)
            notes.append(f"{names} depend on each other; they are rolled back in name order.")
            ready = remaining[:1]
        nxt = ready[0]
        ordered.append(nxt)
        remaining.remove(nxt)
    return ordered


def rollback_scope(release: Release, *, steps=None) -> RollbackScope:
    """The release's rollback groups in order with each service's steps and SLA verdict.

    Three queries: the shipped services, the steps (unless ``steps`` is given) and the
    dependency edges (only when two or more services ship)."""
    services = [rs.service for rs in release.release_services.select_related("service")]
    if steps is None:
        steps = list(release.rollback_steps.order_by("position", "pk"))
    by_service: dict[int, list[RollbackStep]] = defaultdict(list)
    for step in sorted(steps, key=lambda s: (s.position, s.pk)):
        by_service[step.service_id].append(step)
    result = RollbackScope(release)
    rows = [ServiceRollback(s, by_service.get(s.pk, [])) for s in services]
    closure = _depends_on_closure({s.pk for s in services}) if len(services) > 1 else {}
    buckets: dict[tuple[bool, int], list[ServiceRollback]] = defaultdict(list)
    for row in rows:
        buckets[(row.service.customer_facing, row.sla_minutes)].append(row)
    keys = sorted(buckets, key=lambda k: (k[1], not k[0]))
    for number, (customer_facing, sla) in enumerate(keys, start=1):
        members = buckets[(customer_facing, sla)]
        if closure:
            members = _dependents_first(members, closure, result.notes)
        result.groups.append(RollbackGroup(number, customer_facing, sla, members))
    # A dependency rolled back (in an earlier group) before its dependent: say so.
    group_of = {s.service.pk: g.number for g in result.groups for s in g.services}
    for group in result.groups:
        for row in group.services:
            for dep in sorted(closure.get(row.service.pk, ())):
                if group_of[dep] < group.number:
                    dep_name = next(s.service.name for s in rows if s.service.pk == dep)
                    result.notes.append(
                        f"{row.service.name} (group {group.number}) depends on {dep_name} "
                        f"(group {group_of[dep]}), which is rolled back first for its tighter "
                        f"SLA: {row.service.name} runs its new version against the old "
                        f"{dep_name} until group {group.number} is rolled back."
                    )
    return result


def _minutes(row: ServiceRollback) -> str:
    return f"{row.service.name} {row.total_minutes} of {row.sla_minutes} min"


def check_rollback_plan(release: Release, environment, *, scope: RollbackScope | None = None):
    """The gate's ``rollback_plan`` check. Production only; someone must act to clear it."""
    if not environment.is_production:
        return Reason(
            CODE,
            True,
            f"{environment.name} is not production; the per-service rollback plan is checked "
            "before production.",
        )
    scope = scope or rollback_scope(release)
    data = scope.as_dict()
    del data["services"]
    if not scope.services:
        return Reason(CODE, True, f"{release.key} ships no services; nothing to roll back.", data)
    problems = []
    if scope.missing:
        names = ", ".join(s.service.name for s in scope.missing)
        problems.append(f"no rollback steps for {names}")
    for row in scope.overruns:
        problems.append(
            f"rolling back {row.service.name} takes {row.total_minutes} min, "
            f"{row.overrun_minutes} min over its {row.sla_minutes} min recovery SLA"
        )
    if problems:
        return Reason(
            CODE,
            False,
            f"{release.key} cannot go to {environment.name}: " + "; ".join(problems) + ".",
            data,
        )
    return Reason(
        CODE,
        True,
        "Every service can be rolled back within its recovery SLA: "
        + ", ".join(_minutes(s) for s in scope.services)
        + ".",
        data,
    )


# --- writing steps ------------------------------------------------------------------------------


def _require_open(release: Release) -> None:
    if release.state in FINISHED_STATES:
        raise IllegalTransition(
            f"{release.key} is {release.get_state_display().lower()}; its rollback plan can no "
            "longer change."
        )


def _save(step: RollbackStep, user, reason: str) -> RollbackStep:
    from django.core.exceptions import ValidationError

    try:
        step.full_clean()
    except ValidationError as exc:
        raise InvalidInput.of(exc.message_dict) from exc
    step.save_with_reason(reason, user=user)
    return step


def add_step(release: Release, user, *, service, description, estimated_minutes, position=None):
    """Add a rollback step for one of the release's services (last unless ``position``)."""
    require_permission(user, ADD_PERMISSION, "add rollback steps")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release.pk)
        _require_open(release)
        if service is None:
            raise InvalidInput.of({"service": ["Choose a service the release ships."]})
        if position is None:
            last = (
                release.rollback_steps.filter(service=service)
                .order_by("-position")
                .values_list("position", flat=True)
                .first()
            )
            position = (last or 0) + 1
        step = RollbackStep(
            release=release,
            service=service,
            description=(description or "").strip(),
            estimated_minutes=estimated_minutes,
            position=position or 1,
        )
        return _save(step, user, "rollback step added")


def edit_step(step: RollbackStep, user, reason: str = "", **changes) -> RollbackStep:
    require_permission(user, CHANGE_PERMISSION, "change rollback steps")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=step.release_id)
        _require_open(release)
        step = RollbackStep.objects.select_related("release", "service").get(pk=step.pk)
        for name, value in changes.items():
            if name in EDITABLE_FIELDS:
                setattr(step, name, value.strip() if isinstance(value, str) else value)
        return _save(step, user, reason or "rollback step edited")


def delete_step(step: RollbackStep, user) -> None:
    require_permission(user, DELETE_PERMISSION, "delete rollback steps")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=step.release_id)
        _require_open(release)
        step._change_reason = "rollback step removed"
        step.delete()
