"""The Jobs page: every background job's latest run and the run history, with failures' errors."""

from django.core.exceptions import PermissionDenied
from django.views.generic import TemplateView

from releasemgr import jobs_overview
from releasemgr.web import RoleRequiredMixin, paginate


class JobRunListView(RoleRequiredMixin, TemplateView):
    template_name = "jobs/jobrun_list.html"

    def has_permission(self):
        return jobs_overview.may_see_jobs(self.request.user)

    def get(self, request, *args, **kwargs):
        try:
            self.filters = jobs_overview.parse_filters(request.GET)
            self.errors = {}
        except jobs_overview.InvalidJobFilters as exc:
            self.filters = None
            self.errors = exc.errors
        response = super().get(request, *args, **kwargs)
        if self.errors:
            response.status_code = 400
        return response

    def get_context_data(self, **kwargs):
        if not jobs_overview.may_see_jobs(self.request.user):  # pragma: no cover - mixin
            raise PermissionDenied
        context = super().get_context_data(**kwargs)
        context["errors"] = self.errors
        context["statuses"] = jobs_overview.STATUSES
        context["job_names"] = jobs_overview.job_names()
        context["summary"] = jobs_overview.summary()
        context["params"] = self.request.GET
        if self.filters is not None:
            context["page_obj"] = paginate(self.request, jobs_overview.runs(self.filters), 50)
        return context
