"""Release pages: list, detail (with its tabs), create/edit, lifecycle actions, deploy, scope."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch, ProtectedError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from governance import cab, policy, sod
from governance.models import Approval
from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx
from releases import impact, lifecycle
from releases.choices import ReleaseState
from releases.filtersets import ReleaseFilterSet
from releases.forms import (
    ReleaseForm,
    ReleaseServiceFormSet,
    ScopeItemForm,
    StartDeploymentForm,
    TransitionForm,
)
from releases.models import Deployment, GateDecision, Release, ReleaseService, ScopeItem
from releases.views.common import active_filter_count, filtered_page, related_history_rows
from scheduling.models import Environment
from scheduling.views_planning import warn_plan_conflicts

RECENT_GATE_DECISIONS = 20

# How each action button looks (the lifecycle decides which ones exist).
ACTION_STYLES = {
    "submit": "btn-primary",
    "withdraw": "btn-outline-secondary",
    "approve": "btn-success",
    "reject": "btn-danger",
    "reopen": "btn-outline-primary",
    "cancel": "btn-outline-danger",
    "close": "btn-outline-dark",
}


# ---------------------------------------------------------------- list


class ReleaseListView(RoleRequiredMixin, View):
    permission_required = "releases.view_release"

    def get(self, request):
        filterset, page = filtered_page(
            request, ReleaseFilterSet, Release.objects.with_related().order_by("-created")
        )
        return render(
            request,
            "releases/release_list.html",
            {
                "filter": filterset,
                "page": page,
                "releases": page.object_list,
                "active_filters": active_filter_count(filterset),
                "can_add": request.user.has_perm("releases.add_release"),
                "state_field": filterset.form["state"],
            },
        )


# ---------------------------------------------------------------- detail


def _release_for_detail(key: str) -> Release:
    queryset = Release.objects.select_related("owner", "author").prefetch_related(
        Prefetch(
            "release_services",
            queryset=ReleaseService.objects.select_related("service__team").order_by(
                "service__name"
            ),
        ),
        Prefetch(
            "scope_items",
            queryset=ScopeItem.objects.select_related("service", "contributor"),
        ),
        Prefetch(
            "approvals",
            queryset=Approval.objects.select_related("approver").order_by("-round", "-created"),
        ),
        Prefetch(
            "deployments",
            queryset=Deployment.objects.select_related("environment", "started_by").order_by(
                "environment__order", "-started_at"
            ),
        ),
    )
    return get_object_or_404(queryset, key=key)


def _environment_track(release: Release, environments: list[Environment]) -> list[dict]:
    """The promotion path with the latest deployment of this release in each environment."""
    latest: dict[int, Deployment] = {}
    counts: dict[int, int] = {}
    for deployment in release.deployments.all():
        counts[deployment.environment_id] = counts.get(deployment.environment_id, 0) + 1
        current = latest.get(deployment.environment_id)
        if current is None or deployment.started_at > current.started_at:
            latest[deployment.environment_id] = deployment
    return [
        {"environment": env, "latest": latest.get(env.pk), "attempts": counts.get(env.pk, 0)}
        for env in environments
    ]


def scope_context(request, release: Release, scope_items=None, **extra) -> dict:
    user = request.user
    return {
        "release": release,
        "scope_items": list(scope_items)
        if scope_items is not None
        else list(release.scope_items.select_related("service", "contributor")),
        "scope_editable": release.is_editable,
        "can_add_scope": user.has_perm("releases.add_scopeitem"),
        "can_change_scope": user.has_perm("releases.change_scopeitem"),
        "can_delete_scope": user.has_perm("releases.delete_scopeitem"),
        # htmx responses also refresh the item count on the Scope tab.
        "scope_oob": is_htmx(request),
        **extra,
    }


def release_detail_context(request, release: Release, **extra) -> dict:
    """Everything the detail page shows; a bounded number of queries whatever the size."""
    user = request.user
    environments = list(Environment.objects.order_by("order"))
    analysis = impact.release_impact(release)
    approvals = list(release.approvals.all())
    rounds: dict[int, list[Approval]] = {}
    for approval in approvals:
        rounds.setdefault(approval.round, []).append(approval)
    policy.prime([release])
    approval_status = policy.approval_status(release)
    policy_explained = policy.explain(release)
    may_decide = None
    contributed = user.pk in sod.contributor_relations(release)
    if release.state == ReleaseState.SUBMITTED and (
        user.has_perm("governance.approve_release") or contributed
    ):
        may_decide = policy.may_decide(user, release)
    gate_decisions = list(
        GateDecision.objects.filter(release=release).select_related("requested_by")[
            :RECENT_GATE_DECISIONS
        ]
    )
    # Approve/reject the policy or segregation of duties refuses stay visible, disabled, with why.
    refused = (
        " ".join(may_decide.messages()) if may_decide is not None and not may_decide.allowed else ""
    )
    actions = [
        {
            "name": t.name,
            "label": t.label,
            "style": ACTION_STYLES.get(t.name, "btn-secondary"),
            "refused": refused if t.name in ("approve", "reject") else "",
        }
        for t in lifecycle.available_actions(release, user)
    ]
    start = lifecycle.TRANSITIONS["start_deployment"]
    can_deploy = user.has_perm(start.permission) and release.state in start.sources
    history = history_rows(release)
    item_history = related_history_rows(
        ScopeItem.history.filter(release_id=release.pk),
        lambda r: f"Scope item “{r.title}”",
    ) + related_history_rows(
        ReleaseService.history.filter(release_id=release.pk).select_related("service"),
        lambda r: f"Service {r.service.name if r.service else r.service_id} {r.version}",
    )
    item_history.sort(key=lambda row: row["date"], reverse=True)
    context = {
        "release": release,
        "release_services": list(release.release_services.all()),
        "impact": analysis,
        "approvals": approvals,
        "approval_rounds": sorted(rounds.items(), reverse=True),
        "approval_status": approval_status,
        "may_decide": may_decide,
        "policy": policy_explained,
        "deployments": list(release.deployments.all()),
        "environment_track": _environment_track(release, environments),
        "gate_decisions": gate_decisions,
        "actions": actions,
        "transition_form": TransitionForm(),
        "can_edit": user.has_perm("releases.change_release") and release.is_editable,
        "can_delete": user.has_perm("releases.delete_release") and release.is_editable,
        "can_deploy": can_deploy,
        "can_export_evidence": user.has_perm("governance.export_evidence"),
        "deploy_form": StartDeploymentForm(),
        "history": history,
        "item_history": item_history,
        "active_tab": "overview",
    }
    context.update(scope_context(request, release, scope_items=release.scope_items.all()))
    context.update(extra)
    return context


def render_release_detail(request, release: Release, status: int = 200, **extra):
    return render(
        request,
        "releases/release_detail.html",
        release_detail_context(request, release, **extra),
        status=status,
    )


class ReleaseDetailView(RoleRequiredMixin, View):
    permission_required = "releases.view_release"

    def get(self, request, key):
        return render_release_detail(request, _release_for_detail(key))


# ---------------------------------------------------------------- create / edit / delete


def _sync_services(release: Release, rows, user) -> None:
    """Make the release ship exactly ``rows`` [(service, version)], with history reasons."""
    wanted = {service.pk: (service, version) for service, version in rows}
    for link in release.release_services.select_related("service"):
        if link.service_id not in wanted:
            link._change_reason = f"removed from {release.key}"
            link.delete()
            continue
        _service, version = wanted.pop(link.service_id)
        if link.version != version:
            link.version = version
            link.save_with_reason(f"version changed in {release.key}", user=user)
    for service, version in wanted.values():
        ReleaseService(release=release, service=service, version=version).save_with_reason(
            f"added to {release.key}", user=user
        )


class ReleaseFormView(RoleRequiredMixin, View):
    """Create (no ``key``) or edit a release with the services it ships."""

    template_name = "releases/release_form.html"

    def get_permission_required(self):
        if "key" in self.kwargs:
            return ("releases.change_release",)
        return ("releases.add_release",)

    def _editable_release(self, key, lock=False):
        queryset = Release.objects.select_for_update() if lock else Release.objects
        release = get_object_or_404(queryset, key=key)
        lifecycle.ensure_editable(release)
        return release

    def _render(self, request, release, form, formset, status=200):
        return render(
            request,
            self.template_name,
            {"release": release, "form": form, "formset": formset},
            status=status,
        )

    def get(self, request, key=None):
        if key is None:
            form = ReleaseForm(initial={"owner": request.user})
            return self._render(request, None, form, ReleaseServiceFormSet(prefix="services"))
        try:
            release = self._editable_release(key)
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return redirect("release_detail", key=key)
        initial = [
            {"service": link.service, "version": link.version}
            for link in release.release_services.select_related("service")
        ]
        formset = ReleaseServiceFormSet(prefix="services", initial=initial)
        return self._render(request, release, ReleaseForm(instance=release), formset)

    def post(self, request, key=None):
        user = request.user
        try:
            with transaction.atomic():
                release = self._editable_release(key, lock=True) if key else None
                # Read before the form writes the posted values into the instance.
                plan_before = (
                    (release.planned_start, release.planned_end) if release else (None, None)
                )
                instance = release or Release(author=user)
                form = ReleaseForm(request.POST, instance=instance)
                initial = (
                    [
                        {"service": link.service, "version": link.version}
                        for link in release.release_services.select_related("service")
                    ]
                    if release
                    else None
                )
                formset = ReleaseServiceFormSet(request.POST, prefix="services", initial=initial)
                form_ok = form.is_valid()
                formset_ok = formset.is_valid()
                if not (form_ok and formset_ok):
                    return self._render(request, release, form, formset)
                saved = form.save(commit=False)
                if release is None and saved.owner is None:
                    saved.owner = user
                saved.save_with_reason("edited" if release else "created", user=user)
                _sync_services(saved, formset.rows(), user)
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return redirect("release_detail", key=key)
        messages.success(
            request, f"{saved.key} {'updated' if release else 'created'}: {saved.name}."
        )
        # The planning helper's hook: a changed planned window gets its conflicts listed.
        warn_plan_conflicts(request, saved, plan_before)
        return redirect(saved)


class ReleaseDeleteView(RoleRequiredMixin, View):
    permission_required = "releases.delete_release"

    def get(self, request, key):
        release = get_object_or_404(Release, key=key)
        if not release.is_editable:
            messages.error(request, f"{release.key} is {release.state}; cancel it instead.")
            return redirect(release)
        return render(request, "releases/release_confirm_delete.html", {"release": release})

    def post(self, request, key):
        try:
            with transaction.atomic():
                release = get_object_or_404(Release.objects.select_for_update(), key=key)
                lifecycle.ensure_editable(release)
                release._change_reason = "deleted"
                release.delete()
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return redirect("release_detail", key=key)
        except ProtectedError:
            messages.error(
                request,
                f"{key} cannot be deleted: deployments or gate decisions refer to it. "
                "Cancel it instead.",
            )
            return redirect("release_detail", key=key)
        messages.success(request, f"{key} deleted.")
        return redirect("release_list")


# ---------------------------------------------------------------- lifecycle actions


def _refusal_for_you(exc: NotPermitted) -> str:
    """The lifecycle's refusal addressed to the person on the page ("Your role may not …")."""
    reason = exc.reasons[0] if exc.reasons else None
    if reason is None or reason.code != "permission":
        return exc.message
    action, roles = reason.data["action"], reason.data["roles"]
    if not roles:
        return f"You have no role that may {action}."
    return f"Your role may not {action} (your roles: {', '.join(roles)})."


class ReleaseActionView(RoleRequiredMixin, View):
    """POST a lifecycle action (submit, approve, ...). The lifecycle decides; we show its answer."""

    permission_required = "releases.view_release"

    def post(self, request, key, action):
        if action not in lifecycle.USER_ACTIONS:
            raise Http404(f"Unknown action '{action}'.")
        release = get_object_or_404(Release, key=key)
        form = TransitionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "The comment is too long (2,000 characters at most).")
            return redirect(release)
        try:
            updated = lifecycle.transition(
                release, action, request.user, form.cleaned_data["comment"]
            )
        except NotPermitted as exc:
            # Forbidden for this person: say why, with a 403, on the release page.
            messages.error(request, _refusal_for_you(exc))
            return render_release_detail(request, _release_for_detail(key), status=403)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(release)
        label = lifecycle.TRANSITIONS[action].label
        if action == "approve" and updated.state == ReleaseState.SUBMITTED:
            messages.success(
                request,
                f"Your approval of {updated.key} is recorded. {cab.where_it_stands(updated)}",
            )
        else:
            messages.success(
                request, f"{label}: {updated.key} is now {updated.get_state_display().lower()}."
            )
        return redirect(updated)


class ReleaseDeployView(RoleRequiredMixin, View):
    """Start a deployment from the release page; the gate is asked again under lock."""

    permission_required = "releases.deploy_release"

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        form = StartDeploymentForm(request.POST)
        if not form.is_valid():
            return render_release_detail(
                request, _release_for_detail(key), deploy_form=form, active_tab="deployments"
            )
        data = form.cleaned_data
        try:
            deployment, _created = lifecycle.start_deployment(
                release,
                data["environment"],
                request.user,
                strategy=data["strategy"],
                pipeline_url=data["pipeline_url"],
                commit=data["commit"],
                region=data["region"],
                override_reason=data["reason"],
                canary_steps=data["canary_steps"],
            )
        except lifecycle.GateRefused as exc:
            messages.error(request, f"The gate refused the deployment ({exc.result.status}).")
            return render_release_detail(
                request,
                _release_for_detail(key),
                status=409,
                deploy_form=form,
                gate_refusal=exc,
                active_tab="deployments",
            )
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return render_release_detail(request, _release_for_detail(key), status=403)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(release)
        messages.success(
            request,
            f"Deployment #{deployment.pk} of {release.key} to {deployment.environment} started.",
        )
        return redirect(deployment)


# ---------------------------------------------------------------- scope items


class ScopeItemView(RoleRequiredMixin, View):
    """Add or edit a scope item. htmx requests get the Scope section back; others a page."""

    def get_permission_required(self):
        if "pk" in self.kwargs:
            return ("releases.change_scopeitem",)
        return ("releases.add_scopeitem",)

    def _objects(self, key, pk, lock=False):
        queryset = Release.objects.select_for_update() if lock else Release.objects
        release = get_object_or_404(queryset, key=key)
        item = get_object_or_404(ScopeItem, pk=pk, release=release) if pk else None
        return release, item

    def _action_url(self, release, item):
        if item is None:
            return reverse("scope_item_add", args=[release.key])
        return reverse("scope_item_edit", args=[release.key, item.pk])

    def _respond(self, request, release, item, form, status=200, **extra):
        context = scope_context(
            request,
            release,
            scope_form=form,
            scope_item=item,
            scope_form_action=self._action_url(release, item),
            **extra,
        )
        if is_htmx(request):
            return render(request, "releases/_scope_section.html", context, status=status)
        return render(request, "releases/scope_item_form.html", context, status=status)

    def _not_editable(self, request, release, exc):
        if is_htmx(request):
            return render(
                request,
                "releases/_scope_section.html",
                scope_context(request, release, scope_error=exc.message),
            )
        messages.error(request, exc.message)
        return redirect(reverse("release_detail", args=[release.key]) + "#scope")

    def get(self, request, key, pk=None):
        release, item = self._objects(key, pk)
        try:
            lifecycle.ensure_editable(release)
        except IllegalTransition as exc:
            return self._not_editable(request, release, exc)
        return self._respond(request, release, item, ScopeItemForm(instance=item))

    def post(self, request, key, pk=None):
        try:
            with transaction.atomic():
                release, item = self._objects(key, pk, lock=True)
                lifecycle.ensure_editable(release)
                form = ScopeItemForm(request.POST, instance=item or ScopeItem(release=release))
                if not form.is_valid():
                    return self._respond(request, release, item, form)
                saved = form.save(commit=False)
                saved.release = release
                saved.save_with_reason(
                    "edited" if item else f"added to {release.key}", user=request.user
                )
        except IllegalTransition as exc:
            return self._not_editable(request, release, exc)
        text = f"Scope item “{saved.title}” {'updated' if item else 'added'}."
        if is_htmx(request):
            return render(
                request,
                "releases/_scope_section.html",
                scope_context(request, release, scope_message=text),
            )
        messages.success(request, text)
        return redirect(reverse("release_detail", args=[release.key]) + "#scope")


class ScopeItemDeleteView(RoleRequiredMixin, View):
    permission_required = "releases.delete_scopeitem"

    def get(self, request, key, pk):
        item = get_object_or_404(
            ScopeItem.objects.select_related("release"), pk=pk, release__key=key
        )
        return render(
            request,
            "releases/scope_item_confirm_delete.html",
            {"item": item, "release": item.release},
        )

    def post(self, request, key, pk):
        try:
            with transaction.atomic():
                release = get_object_or_404(Release.objects.select_for_update(), key=key)
                item = get_object_or_404(ScopeItem, pk=pk, release=release)
                lifecycle.ensure_editable(release)
                title = item.title
                item._change_reason = f"removed from {release.key}"
                item.delete()
        except IllegalTransition as exc:
            if is_htmx(request):
                return render(
                    request,
                    "releases/_scope_section.html",
                    scope_context(request, release, scope_error=exc.message),
                )
            messages.error(request, exc.message)
            return redirect(reverse("release_detail", args=[key]) + "#scope")
        text = f"Scope item “{title}” deleted."
        if is_htmx(request):
            return render(
                request,
                "releases/_scope_section.html",
                scope_context(request, release, scope_message=text),
            )
        messages.success(request, text)
        return redirect(reverse("release_detail", args=[key]) + "#scope")
