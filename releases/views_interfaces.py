"""API version pages: the list (filters service, status), one version with its consumers,
deprecation schedule and the releases changing it, create/edit, consumers added and removed;
a release's API changes; integration flows added to a release and signed off by teams.

Rules live in ``releases.api_compat``, ``releases.integration`` and the models' validation;
these views parse input, call them and show their answer."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from releasemgr.decisions import NotPermitted
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases import api_compat, integration
from releases.filtersets_interfaces import ApiVersionFilterSet
from releases.forms_interfaces import (
    ApiChangeForm,
    ApiConsumerForm,
    ApiVersionForm,
    FlowForm,
    SignForm,
)
from releases.models import ApiChange, ApiConsumer, ApiVersion, IntegrationFlow, Release, Team
from releases.models.interfaces import SignOffStatus

PER_PAGE = 25
PACKAGING_TAB = "#packaging"
VALIDATION_TAB = "#validation"


class ApiVersionListView(RoleRequiredMixin, View):
    permission_required = "releases.view_apiversion"

    def get(self, request):
        filterset = ApiVersionFilterSet(
            request.GET or None,
            queryset=api_compat.versions_with_consumers().order_by(
                "service__name", "name", "version", "pk"
            ),
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        for version in page:
            version.plan = api_compat.schedule(version)
        return render(
            request,
            "releases/api_version_list.html",
            {
                "page": page,
                "filter_form": style_filter_form(filterset.form),
                "filterset": filterset,
                "can_add": request.user.has_perm("releases.add_apiversion"),
            },
        )


def _version_detail(request, version, status=200, consumer_form=None):
    version = get_object_or_404(api_compat.versions_with_consumers(), pk=version.pk)
    changes = list(
        ApiChange.objects.filter(api_version=version)
        .select_related("release")
        .order_by("-release__planned_start", "pk")
    )
    for change in changes:
        change.api_version = version
        change.reason = api_compat.change_reason(change)
    user = request.user
    can_add = user.has_perm("releases.add_apiconsumer")
    return render(
        request,
        "releases/api_version_detail.html",
        {
            "version": version,
            "plan": api_compat.schedule(version),
            "changes": changes,
            "history": history_rows(version),
            "can_edit": user.has_perm("releases.change_apiversion"),
            "can_remove_consumer": user.has_perm("releases.delete_apiconsumer"),
            "consumer_form": consumer_form
            or (ApiConsumerForm(api_version=version) if can_add else None),
        },
        status=status,
    )


class ApiVersionDetailView(RoleRequiredMixin, View):
    model = ApiVersion
    permission_required = "releases.view_apiversion"

    def get(self, request, pk):
        return _version_detail(request, get_object_or_404(ApiVersion, pk=pk))


class ApiVersionFormView(RoleRequiredMixin, View):
    """``/api-versions/new/`` (publish a version) and ``/api-versions/<pk>/edit/``."""

    model = ApiVersion
    template_name = "releases/api_version_form.html"

    def get_permission_required(self):
        return ["releases.change_apiversion" if "pk" in self.kwargs else "releases.add_apiversion"]

    def _render(self, request, form, version, status=200):
        context = {"form": form, "version": version}
        if version is not None:
            context["history"] = history_rows(version)
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk=None):
        version = get_object_or_404(ApiVersion, pk=pk) if pk else None
        initial = {} if version else {"service": request.GET.get("service")}
        return self._render(request, ApiVersionForm(instance=version, initial=initial), version)

    def post(self, request, pk=None):
        version = get_object_or_404(ApiVersion, pk=pk) if pk else None
        form = ApiVersionForm(request.POST, instance=version)
        if not form.is_valid():
            return self._render(request, form, version, status=400)
        saved = form.save(commit=False)
        with transaction.atomic():
            saved.save_with_reason("edited" if version else "published", user=request.user)
        messages.success(request, f"{saved} of {saved.service.slug} saved.")
        return redirect(saved)


class ApiConsumerAddView(RoleRequiredMixin, View):
    """POST from the version page: an internal service or a named external client."""

    model = ApiVersion
    permission_required = "releases.add_apiconsumer"

    def post(self, request, pk):
        version = get_object_or_404(ApiVersion.objects.select_related("service"), pk=pk)
        form = ApiConsumerForm(request.POST, api_version=version)
        if not form.is_valid():
            return _version_detail(request, version, status=400, consumer_form=form)
        consumer = form.save(commit=False)
        with transaction.atomic():
            consumer.save_with_reason("consumer added", user=request.user)
        messages.success(request, f"{consumer.consumer_name} now consumes {version}.")
        return redirect(version)


class ApiConsumerRemoveView(RoleRequiredMixin, View):
    model = ApiConsumer
    permission_required = "releases.delete_apiconsumer"

    def post(self, request, pk):
        consumer = get_object_or_404(
            ApiConsumer.objects.select_related("api_version", "consumer_service"), pk=pk
        )
        version, name = consumer.api_version, consumer.consumer_name
        with transaction.atomic():
            consumer._change_reason = "consumer removed"
            consumer._history_user = request.user
            consumer.delete()
        messages.success(request, f"{name} no longer listed as a consumer of {version}.")
        return redirect(version)


class ReleaseApiChangeAddView(RoleRequiredMixin, View):
    """``/releases/<key>/api-changes/add/``: the release adds to, breaks or removes a version."""

    permission_required = "releases.add_apichange"
    template_name = "releases/api_change_form.html"

    def _render(self, request, release, form, status=200):
        return render(
            request, self.template_name, {"release": release, "form": form}, status=status
        )

    def get(self, request, key):
        release = get_object_or_404(Release, key=key)
        return self._render(request, release, ApiChangeForm(release=release))

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        form = ApiChangeForm(request.POST, release=release)
        if not form.is_valid():
            return self._render(request, release, form, status=400)
        change = form.save(commit=False)
        with transaction.atomic():
            change.save_with_reason("API change recorded", user=request.user)
        reason = api_compat.change_reason(change)
        (messages.success if reason.passed else messages.warning)(request, reason.message)
        return redirect(release.get_absolute_url() + PACKAGING_TAB)


class ReleaseIntegrationFlowAddView(RoleRequiredMixin, View):
    """``/releases/<key>/integration-flows/add/``: an end-to-end flow for the test plan."""

    permission_required = "releases.add_integrationflow"
    template_name = "releases/integration_flow_form.html"

    def _render(self, request, release, form, status=200):
        return render(
            request, self.template_name, {"release": release, "form": form}, status=status
        )

    def get(self, request, key):
        release = get_object_or_404(Release, key=key)
        initial = {"services": list(release.services.values_list("pk", flat=True))}
        return self._render(request, release, FlowForm(initial=initial))

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        form = FlowForm(request.POST)
        if form.is_valid():
            try:
                flow = integration.add_flow(release, request.user, **form.cleaned_data)
            except integration.InvalidInput as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, f"Flow '{flow.name}' added; its teams sign it off.")
                return redirect(release.get_absolute_url() + VALIDATION_TAB)
        return self._render(request, release, form, status=400)


class IntegrationFlowSignView(RoleRequiredMixin, View):
    """A team member signs the flow off for the team, or refuses it with a note.

    The panel on the release page posts here; this page shows the form again with its errors,
    or the refusal of someone who is not a member of the team."""

    model = IntegrationFlow
    permission_required = integration.SIGN_PERMISSION
    template_name = "releases/integration_sign.html"

    def _flow(self, pk):
        flow = get_object_or_404(
            integration.flows_queryset().select_related("plan__release"), pk=pk
        )
        return flow, Team.objects.filter(services__integration_flows=flow).distinct()

    def _render(self, request, flow, form, status=200, refusal=""):
        my_teams = set(request.user.teams.values_list("pk", flat=True))
        status_ = integration.flow_status(flow)
        context = {
            "flow": flow,
            "release": flow.plan.release,
            "status": status_,
            "form": form,
            "my_teams": my_teams,
            "member_of": [t.team for t in status_.teams if t.team.pk in my_teams],
            "refusal": refusal,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk):
        flow, teams = self._flow(pk)
        mine = teams.filter(members=request.user).first()
        initial = {"team": (mine or teams.first()), "verdict": SignOffStatus.SIGNED}
        if request.GET.get("team"):
            initial["team"] = request.GET["team"]
        return self._render(request, flow, SignForm(initial=initial, teams=teams))

    def post(self, request, pk):
        flow, teams = self._flow(pk)
        form = SignForm(request.POST, teams=teams)
        if form.is_valid():
            data = form.cleaned_data
            try:
                integration.sign(
                    flow,
                    data["team"],
                    request.user,
                    data["note"],
                    refuse=data["verdict"] == SignOffStatus.REFUSED,
                )
            except integration.InvalidInput as exc:
                form.add_domain_errors(exc)
            except NotPermitted as exc:
                return self._render(request, flow, form, status=403, refusal=exc.message)
            else:
                messages.success(
                    request, f"Team {data['team'].name} {data['verdict']} flow '{flow.name}'."
                )
                return redirect(flow.plan.release.get_absolute_url() + VALIDATION_TAB)
        return self._render(request, flow, form, status=400)
