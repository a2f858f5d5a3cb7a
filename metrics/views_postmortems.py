"""Post-mortem pages: the list (filters, pagination), a new post-mortem (from a release or an
incident), one post-mortem with its timeline, contributing factors and actions (forms to add
each, mark an action done, move the status), and its history. Rules: ``metrics.postmortems``."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from metrics import postmortems
from metrics.csv_export import csv_response
from metrics.filtersets_postmortems import PostMortemFilterSet
from metrics.forms_postmortems import (
    ActionForm,
    FactorForm,
    PostMortemForm,
    StatusForm,
    TimelineForm,
)
from metrics.models.incidents import Incident
from metrics.models.postmortems import ActionItem, ActionStatus, PostMortem, PostMortemStatus
from releasemgr.decisions import IllegalTransition
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases.models import Release


class PostMortemListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_postmortem"

    def get(self, request):
        filterset = PostMortemFilterSet(
            request.GET or None,
            queryset=PostMortem.objects.select_related("release", "incident", "facilitator")
            .annotate(
                factor_count=Count("factors", distinct=True),
                open_actions=Count(
                    "actions", filter=Q(actions__status=ActionStatus.OPEN), distinct=True
                ),
            )
            .order_by("-created", "-pk"),
        )
        valid = filterset.is_valid() if filterset.is_bound else True
        if valid and request.GET.get("format") == "csv":
            return postmortems_csv(filterset.qs)
        page = paginate(request, filterset.qs if valid else PostMortem.objects.none(), 25)
        csv_query = request.GET.copy()
        csv_query.pop("page", None)
        csv_query["format"] = "csv"
        context = {
            "page": page,
            "csv_query": csv_query.urlencode(),
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "can_add": request.user.has_perm(postmortems.WRITE_PERMISSION),
        }
        return render(
            request, "metrics/postmortem_list.html", context, status=200 if valid else 400
        )


POSTMORTEM_CSV_HEADER = (
    "post_mortem",
    "title",
    "release",
    "incident",
    "incident_severity",
    "status",
    "facilitator",
    "factors",
    "open_actions",
    "created",
)


def postmortems_csv(queryset):
    """The list's rows for its filters, every page (``metrics.csv_export``)."""
    rows = (
        (
            f"PM-{pm.pk}",
            pm.title,
            pm.release.key if pm.release else None,
            f"INC-{pm.incident.pk}" if pm.incident else None,
            pm.incident.severity if pm.incident else None,
            pm.status,
            pm.facilitator.username if pm.facilitator else None,
            pm.factor_count,
            pm.open_actions,
            pm.created,
        )
        for pm in queryset.iterator()
    )
    return csv_response("post-mortems.csv", POSTMORTEM_CSV_HEADER, rows)


def _subject(request):
    release = incident = None
    if key := request.GET.get("release") or request.POST.get("release"):
        release = Release.objects.filter(key=key).first()
    if pk := request.GET.get("incident") or request.POST.get("incident"):
        incident = Incident.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    return release, incident


class PostMortemCreateView(RoleRequiredMixin, View):
    permission_required = postmortems.WRITE_PERMISSION
    template_name = "metrics/postmortem_form.html"

    def _context(self, request, form):
        release, incident = _subject(request)
        return {"form": form, "release": release, "incident": incident}

    def get(self, request):
        release, incident = _subject(request)
        title = ""
        if incident is not None:
            title = f"INC-{incident.pk}: {incident.title}"
        elif release is not None:
            title = f"{release.key} {release.name} failed"
        form = PostMortemForm(initial={"title": title, "facilitator": request.user.username})
        return render(request, self.template_name, self._context(request, form))

    def post(self, request):
        form = PostMortemForm(request.POST)
        release, incident = _subject(request)
        if form.is_valid():
            try:
                pm = postmortems.create_postmortem(
                    request.user, release=release, incident=incident, **form.cleaned_data
                )
            except postmortems.InvalidInput as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, f"PM-{pm.pk} created.")
                return redirect(pm)
        return render(request, self.template_name, self._context(request, form), status=400)


def _pm(pk):
    return get_object_or_404(
        PostMortem.objects.select_related("release", "incident", "facilitator", "created_by"),
        pk=pk,
    )


def render_detail(request, pm, status=200, **forms):
    can_write = request.user.has_perm(postmortems.WRITE_PERMISSION)
    editable = can_write and pm.status != PostMortemStatus.PUBLISHED
    context = {
        "pm": pm,
        "timeline": list(pm.timeline.all()),
        "factors": list(pm.factors.all()),
        "actions": list(pm.actions.select_related("owner", "done_by")),
        "history": history_rows(pm),
        "today": timezone.localdate(),
        "can_write": can_write,
        "editable": editable,
        "can_close_actions": request.user.has_perm("metrics.change_actionitem"),
        "next_statuses": [
            (s, PostMortemStatus(s).label) for s in postmortems.STATUS_FLOW[pm.status]
        ],
        "timeline_form": forms.get("timeline_form") or TimelineForm(prefix="timeline"),
        "factor_form": forms.get("factor_form") or FactorForm(prefix="factor"),
        "action_form": forms.get("action_form") or ActionForm(prefix="action"),
        "edit_form": forms.get("edit_form")
        or PostMortemForm(
            prefix="pm",
            keep=pm.facilitator,
            initial={
                "title": pm.title,
                "summary": pm.summary,
                "facilitator": pm.facilitator.username if pm.facilitator else None,
            },
        ),
    }
    return render(request, "metrics/postmortem_detail.html", context, status=status)


class PostMortemDetailView(RoleRequiredMixin, View):
    model = PostMortem
    permission_required = "metrics.view_postmortem"

    def get(self, request, pk):
        return render_detail(request, _pm(pk))


class _PostMortemWrite(RoleRequiredMixin, View):
    model = PostMortem
    permission_required = postmortems.WRITE_PERMISSION
    form_class = None
    form_name = ""
    prefix = None
    anchor = ""

    def get(self, request, pk):
        return redirect(_pm(pk).get_absolute_url() + self.anchor)

    def act(self, request, pm, data):  # pragma: no cover - overridden
        raise NotImplementedError

    def form_kwargs(self, pm) -> dict:
        return {}

    def post(self, request, pk):
        pm = _pm(pk)
        form = self.form_class(request.POST, prefix=self.prefix, **self.form_kwargs(pm))
        if form.is_valid():
            try:
                message = self.act(request, pm, form.cleaned_data)
            except postmortems.InvalidInput as exc:
                form.add_domain_errors(exc)
            except IllegalTransition as exc:
                messages.error(request, exc.message)
                return redirect(pm.get_absolute_url() + self.anchor)
            else:
                messages.success(request, message)
                return redirect(pm.get_absolute_url() + self.anchor)
        return render_detail(request, pm, status=400, **{self.form_name: form})


class PostMortemEditView(_PostMortemWrite):
    permission_required = "metrics.change_postmortem"
    form_class, form_name, prefix = PostMortemForm, "edit_form", "pm"

    def form_kwargs(self, pm) -> dict:
        return {"keep": pm.facilitator}

    def act(self, request, pm, data):
        postmortems.update_postmortem(
            request.user, pm, data["title"], data["summary"], data["facilitator"]
        )
        return "Saved."


class TimelineAddView(_PostMortemWrite):
    form_class, form_name, anchor = TimelineForm, "timeline_form", "#timeline"
    prefix = "timeline"

    def act(self, request, pm, data):
        postmortems.add_timeline_entry(request.user, pm, data["at"], data["description"])
        return "Timeline entry added."


class FactorAddView(_PostMortemWrite):
    form_class, form_name, anchor = FactorForm, "factor_form", "#factors"
    prefix = "factor"

    def act(self, request, pm, data):
        postmortems.add_factor(
            request.user, pm, data["category"], data["description"], data["tags"]
        )
        return "Contributing factor added."


class ActionAddView(_PostMortemWrite):
    form_class, form_name, anchor = ActionForm, "action_form", "#actions"
    prefix = "action"

    def act(self, request, pm, data):
        postmortems.add_action(
            request.user, pm, data["description"], data["owner"], data["due_date"]
        )
        return "Action added."


class StatusEditView(RoleRequiredMixin, View):
    model = PostMortem
    permission_required = "metrics.change_postmortem"

    def get(self, request, pk):
        return redirect(_pm(pk))

    def post(self, request, pk):
        pm = _pm(pk)
        form = StatusForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a status: draft, in review or published.")
            return redirect(pm)
        try:
            pm = postmortems.set_status(request.user, pm, form.cleaned_data["status"])
        except IllegalTransition as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"PM-{pm.pk} is now {pm.get_status_display().lower()}.")
        return redirect(pm)


class ActionDoneView(RoleRequiredMixin, View):
    """POST: mark the action done."""

    model = ActionItem
    permission_required = "metrics.change_actionitem"

    def get(self, request, pk):
        return redirect(get_object_or_404(ActionItem, pk=pk).get_absolute_url())

    def post(self, request, pk):
        item = get_object_or_404(ActionItem.objects.select_related("postmortem"), pk=pk)
        try:
            postmortems.complete_action(request.user, item)
        except IllegalTransition as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Action {item.pk} done.")
        nxt = request.POST.get("next", "")
        safe = nxt.startswith("/") and not nxt.startswith("//")
        return redirect(nxt if safe else item.get_absolute_url())
