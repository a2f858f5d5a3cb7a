"""Integration testing across teams (curriculum 4.3).

A release's integration test plan lists end-to-end flows; each flow spans services, and so
the teams owning them. The plan is complete only when every team of every flow has signed
its flow off. A team signs (or refuses) through one of its members: nobody signs on a team's
behalf, a release manager included. Each verdict goes to the decision log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from governance import decision_log
from governance.choices import DecisionKind
from releasemgr.decisions import Decision, DomainError, NotPermitted, Reason
from releases.models import IntegrationFlow, IntegrationTestPlan, Team, TeamSignOff
from releases.models.interfaces import SignOffStatus

CODE = "integration_sign_off"
SIGN_PERMISSION = "releases.add_teamsignoff"
EDIT_PERMISSION = "releases.change_integrationtestplan"
FINISHED_STATES = ("closed", "cancelled")


class InvalidInput(DomainError):
    """The input makes no sense (HTTP 400); ``data["field"]`` names the field."""

    status_code = 400
    code = "invalid"


@dataclass
class TeamStatus:
    team: Team
    status: str = SignOffStatus.PENDING
    sign_off: TeamSignOff | None = None
    services: list = field(default_factory=list)


@dataclass
class FlowStatus:
    flow: IntegrationFlow
    teams: list[TeamStatus] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return bool(self.teams) and all(t.status == SignOffStatus.SIGNED for t in self.teams)


@dataclass
class PlanStatus:
    plan: IntegrationTestPlan | None
    flows: list[FlowStatus] = field(default_factory=list)
    decision: Decision = field(default_factory=Decision)

    @property
    def complete(self) -> bool:
        return self.decision.allowed and bool(self.flows)


def flows_queryset():
    return IntegrationFlow.objects.prefetch_related(
        "services__team",
        Prefetch("sign_offs", queryset=TeamSignOff.objects.select_related("team", "signed_by")),
    ).order_by("name", "pk")


def flow_status(flow: IntegrationFlow) -> FlowStatus:
    """The teams a flow spans (owners of its services), each with its verdict."""
    by_team: dict[int, TeamStatus] = {}
    for service in sorted(flow.services.all(), key=lambda s: s.name):
        entry = by_team.setdefault(service.team_id, TeamStatus(team=service.team))
        entry.services.append(service)
    for sign_off in flow.sign_offs.all():
        if sign_off.team_id in by_team:
            by_team[sign_off.team_id].status = sign_off.status
            by_team[sign_off.team_id].sign_off = sign_off
    return FlowStatus(flow=flow, teams=sorted(by_team.values(), key=lambda t: t.team.name))


def plan_of(release) -> IntegrationTestPlan | None:
    plan = IntegrationTestPlan.objects.filter(release=release).first()
    if plan is not None:
        plan.release = release
    return plan


def status(plan: IntegrationTestPlan | None, release=None) -> PlanStatus:
    """Each flow, its teams and their sign-off; complete when every team of every flow signed.

    Four queries at most, whatever the number of flows and teams."""
    result = PlanStatus(plan=plan)
    key = (plan.release.key if plan else getattr(release, "key", "")) or "the release"
    if plan is None:
        result.decision.add(Reason(CODE, False, f"{key} has no integration test plan.", {}))
        return result
    flows = list(flows_queryset().filter(plan=plan))
    for flow in flows:
        flow.plan = plan  # no query per flow for its release
    result.flows = [flow_status(f) for f in flows]
    if not result.flows:
        result.decision.add(
            Reason(CODE, False, f"The integration test plan of {key} lists no flows.", {})
        )
    for fs in result.flows:
        waiting = [t.team.name for t in fs.teams if t.status == SignOffStatus.PENDING]
        refused = [t.team.name for t in fs.teams if t.status == SignOffStatus.REFUSED]
        data = {
            "flow": fs.flow.pk,
            "teams": {t.team.slug: t.status for t in fs.teams},
        }
        if not fs.teams:
            result.decision.add(
                Reason(CODE, False, f"Flow '{fs.flow.name}' spans no services.", data)
            )
        elif fs.complete:
            result.decision.add(
                Reason(
                    CODE,
                    True,
                    f"Flow '{fs.flow.name}' signed by "
                    + ", ".join(t.team.name for t in fs.teams)
                    + ".",
                    data,
                )
            )
        else:
            parts = []
            if refused:
                parts.append("refused by " + ", ".join(refused))
            if waiting:
                parts.append("waiting for " + ", ".join(waiting))
            result.decision.add(
                Reason(CODE, False, f"Flow '{fs.flow.name}': " + "; ".join(parts) + ".", data)
            )
    return result


def release_status(release) -> PlanStatus:
    return status(plan_of(release), release)


# --- writes -------------------------------------------------------------------------------------


def ensure_plan(release, user, notes: str = "") -> IntegrationTestPlan:
    if not user.has_perm("releases.add_integrationtestplan"):
        raise NotPermitted(f"{user.get_username()} may not plan integration tests.")
    with transaction.atomic():
        plan, created = IntegrationTestPlan.objects.get_or_create(
            release=release, defaults={"notes": notes}
        )
        if not created and notes and notes != plan.notes:
            plan.notes = notes
            plan.save_with_reason("notes changed", user=user)
        elif created:
            plan.save_with_reason("integration test plan created", user=user)
    return plan


def add_flow(release, user, *, name: str, services, description: str = "") -> IntegrationFlow:
    """Add an end-to-end flow spanning ``services`` to the release's plan (created if needed)."""
    if not user.has_perm("releases.add_integrationflow"):
        raise NotPermitted(f"{user.get_username()} may not add integration flows.")
    errors = []
    if not (name or "").strip():
        errors.append(("name", "Name the end-to-end flow, e.g. 'checkout and pay'."))
    if not list(services):
        errors.append(("services", "Choose the services the flow goes through."))
    if release.state in FINISHED_STATES:
        errors.append(("release", f"{release.key} is {release.state}; it will not ship."))
    if errors:
        raise InvalidInput(
            " ".join(m for _f, m in errors),
            [Reason("invalid", False, m, {"field": f}) for f, m in errors],
        )
    with transaction.atomic():
        plan = ensure_plan(release, user)
        flow = IntegrationFlow(plan=plan, name=name.strip(), description=description.strip())
        flow.save_with_reason("flow added", user=user)
        flow.services.set(services)
    return flow


def sign(
    flow: IntegrationFlow, team: Team, user, note: str = "", *, refuse: bool = False
) -> TeamSignOff:
    """``team`` signs ``flow`` off (or refuses it), through ``user``, one of its members.

    Signing again replaces the team's earlier verdict; each verdict is logged."""
    if not user.has_perm(SIGN_PERMISSION):
        raise NotPermitted(f"{user.get_username()} may not sign integration flows off.")
    flow_teams = {s.team_id for s in flow.services.all()}
    if team.pk not in flow_teams:
        raise InvalidInput(
            f"Flow '{flow.name}' does not span a service of team {team.name}.",
            [Reason("invalid", False, "This team owns no service of the flow.", {"field": "team"})],
        )
    if not team.members.filter(pk=user.pk).exists():
        raise NotPermitted(
            f"{user.get_username()} is not a member of team {team.name}: only its members sign "
            "for it, nobody signs on a team's behalf."
        )
    if refuse and not note.strip():
        raise InvalidInput(
            "Say why the team refuses the flow.",
            [Reason("invalid", False, "Say why the team refuses.", {"field": "note"})],
        )
    release = flow.plan.release
    verdict = SignOffStatus.REFUSED if refuse else SignOffStatus.SIGNED
    with transaction.atomic():
        sign_off, _created = TeamSignOff.objects.select_for_update().get_or_create(
            flow=flow, team=team
        )
        sign_off.status = verdict
        sign_off.signed_by = user
        sign_off.signed_at = timezone.now()
        sign_off.note = note.strip()
        sign_off.save_with_reason(f"{verdict} by {user.get_username()}", user=user)
        decision_log.append(
            kind=DecisionKind.SIGN_OFF,
            outcome=verdict,
            summary=f"Team {team.name} {verdict} integration flow '{flow.name}' of {release.key}"
            + (f": {note.strip()}" if note.strip() else "."),
            actor=user,
            release=release,
            subject=f"teamsignoff:{sign_off.pk}",
            data={"flow": flow.pk, "team": team.slug, "note": note.strip()},
        )
    return sign_off
