"""API version pages: the list (filters service, status) and one version with its consumers,
deprecation schedule and the releases changing it. Rules live in ``releases.api_compat``."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views import View

from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases import api_compat
from releases.filtersets_interfaces import ApiVersionFilterSet
from releases.models import ApiChange

PER_PAGE = 25


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
            },
        )


class ApiVersionDetailView(RoleRequiredMixin, View):
    permission_required = "releases.view_apiversion"

    def get(self, request, pk):
        version = get_object_or_404(api_compat.versions_with_consumers(), pk=pk)
        changes = list(
            ApiChange.objects.filter(api_version=version)
            .select_related("release")
            .order_by("-release__planned_start", "pk")
        )
        for change in changes:
            change.api_version = version
            change.reason = api_compat.change_reason(change)
        return render(
            request,
            "releases/api_version_detail.html",
            {
                "version": version,
                "plan": api_compat.schedule(version),
                "changes": changes,
                "history": history_rows(version),
            },
        )
