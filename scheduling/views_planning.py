"""Planning pages (issue 3 items 3, 7, 8): schedule check and re-plan, deadlines, vendor
deliverables, go-live rules. The release's Schedule tab shows them through
``scheduling.templatetags.planning_tags``; the rules live in ``scheduling.schedule_check``,
``scheduling.vendors`` and ``scheduling.golive``."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView

from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.views import ConfirmDeleteView, style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Release
from scheduling import schedule_check, vendors
from scheduling.filtersets_planning import (
    GoLiveRuleFilterSet,
    VendorDeliverableFilterSet,
    deliverables_by_readiness,
)
from scheduling.forms_planning import (
    ApplySlotForm,
    DeadlinesForm,
    GoLiveRuleForm,
    MarkDeliveredForm,
    MarkLateForm,
    ScheduleCheckForm,
    VendorDeliverableForm,
)
from scheduling.models import GoLiveRule, Region, VendorDeliverable
from scheduling.schedule_check import fmt, history_reason


def schedule_url(release) -> str:
    return reverse("release_detail", args=[release.key]) + "#schedule"


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return " ".join(m for messages_ in exc.message_dict.values() for m in messages_)
    return " ".join(exc.messages)


def _release(key: str) -> Release:
    return get_object_or_404(Release.objects.with_related(), key=key)


def warn_plan_conflicts(request, release, before) -> None:
    """After the release form saved a new planned window: warn about its conflicts.

    ``before`` is ``(planned_start, planned_end)`` as they were; nothing is said if they did
    not change or the plan is incomplete.
    """
    if (release.planned_start, release.planned_end) == tuple(before):
        return
    if not release.planned_start or not release.planned_end:
        return
    decision = schedule_check.check_schedule(release, release.planned_start, release.planned_end)
    found = schedule_check.conflicts(decision)
    if found:
        messages.warning(
            request,
            f"The new planned window of {release.key} has {len(found)} conflict"
            f"{'s' if len(found) != 1 else ''}: "
            + " ".join(r.message for r in found)
            + " See the Schedule tab for the next free slot.",
        )


# --------------------------------------------------------------------- schedule check


class ReleaseScheduleCheckView(RoleRequiredMixin, View):
    """ "Check a date": the conflicts of a period and the next free slot (htmx partial or page)."""

    permission_required = "releases.view_release"

    def get(self, request, key):
        release = _release(key)
        form = ScheduleCheckForm(request.GET or None)
        proposal = None
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            if data["start"] < timezone.now() - timedelta(minutes=1):
                form.add_error("start", "The start is in the past; check a future date.")
            else:
                proposal = schedule_check.propose(
                    release, data["start"], data["end"], data.get("region")
                )
        context = {
            "release": release,
            "form": form,
            "proposal": proposal,
            "region": form.cleaned_data.get("region") if proposal else None,
            "can_apply": _can_apply(request.user, release),
        }
        template = (
            "scheduling/planning/_check_result.html"
            if is_htmx(request)
            else "scheduling/planning/schedule_check.html"
        )
        return render(request, template, context)


def _can_apply(user, release) -> bool:
    return (
        user.has_perm("releases.change_release")
        and release.state in schedule_check.REPLANNABLE_STATES
    )


class ReleaseReplanView(RoleRequiredMixin, View):
    """Apply a proposed slot: sets planned_start/planned_end, history "re-planned: <why>"."""

    permission_required = "releases.change_release"

    def post(self, request, key):
        release = _release(key)
        form = ApplySlotForm(request.POST)
        if not form.is_valid():
            messages.error(
                request,
                "The slot could not be read; nothing was changed: "
                + " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
            )
            return redirect(schedule_url(release))
        data = form.cleaned_data
        try:
            schedule_check.apply_slot(
                release,
                data["start"],
                data["end"],
                request.user,
                why=data.get("why", ""),
                region=data.get("region"),
            )
        except ValidationError as exc:
            messages.error(request, f"Nothing was changed: {_error_text(exc)}")
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{release.key} re-planned: {fmt(release.planned_start)} → "
                f"{fmt(release.planned_end)}.",
            )
        return redirect(schedule_url(release))


class ReleaseDeadlinesView(RoleRequiredMixin, View):
    """The business and compliance deadlines, each change with its reason."""

    permission_required = "releases.change_release"
    template_name = "scheduling/planning/deadlines_form.html"

    def get(self, request, key):
        release = _release(key)
        return render(
            request,
            self.template_name,
            {"release": release, "form": DeadlinesForm(instance=release)},
        )

    def post(self, request, key):
        with transaction.atomic():
            release = get_object_or_404(Release.objects.select_for_update(), key=key)
            form = DeadlinesForm(request.POST, instance=release)
            if not form.is_valid():
                return render(
                    request, self.template_name, {"release": release, "form": form}, status=400
                )
            saved = form.save(commit=False)
            saved.save_with_reason(
                history_reason(f"deadlines: {form.cleaned_data['change_reason']}"),
                user=request.user,
            )
        messages.success(request, f"Deadlines of {release.key} saved.")
        return redirect(schedule_url(release))


# --------------------------------------------------------------------- vendor deliverables


class VendorDeliverableListView(RoleRequiredMixin, View):
    """Every vendor deliverable, undelivered first: what the releases are waiting for."""

    permission_required = "scheduling.view_vendordeliverable"

    def get(self, request):
        queryset = VendorDeliverable.objects.select_related("release")
        filterset = VendorDeliverableFilterSet(request.GET or None, queryset=queryset)
        page = paginate(request, deliverables_by_readiness(filterset.qs))
        now = timezone.now()
        for item in page:
            item.ready = schedule_check.ready_at(item)
            item.overdue = item.delivered_at is None and item.expected_at < now
        return render(
            request,
            "scheduling/planning/vendor_list.html",
            {
                "page": page,
                "filter_form": style_filter_form(filterset.form),
                "filter_errors": filterset.errors if filterset.is_bound else {},
            },
        )


class _DeliverableMixin:
    def get_deliverable(self, pk) -> VendorDeliverable:
        return get_object_or_404(VendorDeliverable.objects.select_related("release"), pk=pk)


class VendorDeliverableFormView(RoleRequiredMixin, _DeliverableMixin, View):
    """Add (``key``) or edit (``pk``) a vendor deliverable of a release."""

    template_name = "scheduling/planning/form.html"

    def get_permission_required(self):
        if "pk" in self.kwargs:
            return ("scheduling.change_vendordeliverable",)
        return ("scheduling.add_vendordeliverable",)

    def _objects(self, key=None, pk=None):
        if pk is not None:
            item = self.get_deliverable(pk)
            return item.release, item
        release = _release(key)
        return release, VendorDeliverable(release=release)

    def _render(self, request, release, form, status=200):
        return render(
            request,
            self.template_name,
            {
                "release": release,
                "form": form,
                "title": (
                    f"Edit deliverable “{form.instance}”"
                    if form.instance.pk
                    else f"New vendor deliverable for {release.key}"
                ),
                "submit": "Save changes" if form.instance.pk else "Add deliverable",
                "cancel_url": schedule_url(release),
            },
            status=status,
        )

    def get(self, request, key=None, pk=None):
        release, item = self._objects(key, pk)
        return self._render(request, release, VendorDeliverableForm(instance=item))

    def post(self, request, key=None, pk=None):
        release, item = self._objects(key, pk)
        creating = item.pk is None
        form = VendorDeliverableForm(request.POST, instance=item)
        if not form.is_valid():
            return self._render(request, release, form, status=400)
        with transaction.atomic():
            saved = form.save(commit=False)
            reason = "added" if creating else form.cleaned_data.get("change_reason") or "edited"
            saved.save_with_reason(history_reason(reason), user=request.user)
        messages.success(
            request,
            f"Deliverable “{saved}” {'added to' if creating else 'saved for'} {release.key}.",
        )
        return redirect(schedule_url(release))


class VendorDeliverableDeleteView(ConfirmDeleteView):
    permission_required = "scheduling.delete_vendordeliverable"
    model = VendorDeliverable

    def get_queryset(self):
        return VendorDeliverable.objects.select_related("release")

    def get_success_url(self):
        return schedule_url(self.object.release)


class VendorMarkLateView(RoleRequiredMixin, _DeliverableMixin, View):
    """The vendor slips: a new expected date and why; the release is re-planned."""

    permission_required = "scheduling.change_vendordeliverable"
    template_name = "scheduling/planning/mark_late.html"

    def _render(self, request, item, form, status=200):
        return render(
            request,
            self.template_name,
            {
                "release": item.release,
                "item": item,
                "form": form,
                "ready": schedule_check.ready_at(item),
            },
            status=status,
        )

    def get(self, request, pk):
        item = self.get_deliverable(pk)
        return self._render(request, item, MarkLateForm(initial={"expected_at": item.expected_at}))

    def post(self, request, pk):
        item = self.get_deliverable(pk)
        form = MarkLateForm(request.POST)
        if form.is_valid():
            try:
                result = vendors.mark_late(
                    item,
                    request.user,
                    form.cleaned_data["expected_at"],
                    form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            except NotPermitted as exc:
                raise PermissionDenied(exc.message) from exc
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect(schedule_url(item.release))
            else:
                _report(request, result)
                return redirect(schedule_url(item.release))
        return self._render(request, item, form, status=400)


def _form_errors(form, exc: ValidationError) -> None:
    fields = {"delivered_at": "delivered_at", "expected_at": "expected_at", "reason": "reason"}
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            target = fields.get(field) if fields.get(field) in form.fields else None
            for error in errors:
                form.add_error(target, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


def _report(request, result: vendors.VendorResult) -> None:
    item, release = result.deliverable, result.release
    if result.replanned:
        messages.success(
            request,
            f"{item.vendor} marked late; {release.key} re-planned from {fmt(result.old_start)} to "
            f"{fmt(release.planned_start)}.",
        )
    elif result.changed:
        messages.success(
            request, f"{item.vendor} marked late; {release.key}'s plan still leaves room."
        )
    else:
        messages.info(request, f"{item.vendor} was already expected then; nothing changed.")
    for reason in result.missed:
        messages.warning(request, reason.message)


class VendorMarkDeliveredView(RoleRequiredMixin, _DeliverableMixin, View):
    permission_required = "scheduling.change_vendordeliverable"
    template_name = "scheduling/planning/mark_delivered.html"

    def get(self, request, pk):
        item = self.get_deliverable(pk)
        return render(
            request,
            self.template_name,
            {"release": item.release, "item": item, "form": MarkDeliveredForm()},
        )

    def post(self, request, pk):
        item = self.get_deliverable(pk)
        form = MarkDeliveredForm(request.POST)
        if form.is_valid():
            try:
                result = vendors.mark_delivered(
                    item,
                    request.user,
                    form.cleaned_data.get("delivered_at"),
                    form.cleaned_data.get("note", ""),
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            except NotPermitted as exc:
                raise PermissionDenied(exc.message) from exc
            else:
                if result.changed:
                    messages.success(
                        request, f"“{item}” delivered {fmt(result.deliverable.delivered_at)}."
                    )
                else:
                    messages.info(request, f"“{item}” was already delivered.")
                return redirect(schedule_url(item.release))
        return render(
            request,
            self.template_name,
            {"release": item.release, "item": item, "form": form},
            status=400,
        )


# --------------------------------------------------------------------- go-live rules


def _rules():
    return GoLiveRule.objects.select_related("region", "release", "service")


class GoLiveRuleListView(RoleRequiredMixin, View):
    """Go-live rules, per region and per release (filters shared with the API)."""

    permission_required = "scheduling.view_goliverule"

    def get(self, request):
        filterset = GoLiveRuleFilterSet(request.GET or None, queryset=_rules())
        page = paginate(
            request, filterset.qs.order_by("region__rollout_order", "earliest_at", "pk")
        )
        now = timezone.now()
        for rule in page:
            rule.reached = rule.earliest_at <= now
        return render(
            request,
            "scheduling/planning/golive_rule_list.html",
            {
                "page": page,
                "filter_form": style_filter_form(filterset.form),
                "filter_errors": filterset.errors if filterset.is_bound else {},
                "regions": Region.objects.order_by("rollout_order", "code"),
            },
        )


class GoLiveRuleDetailView(RoleRequiredMixin, DetailView):
    permission_required = "scheduling.view_goliverule"
    template_name = "scheduling/planning/golive_rule_detail.html"
    context_object_name = "rule"

    def get_queryset(self):
        return _rules()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["history"] = history_rows(self.object)
        context["reached"] = self.object.earliest_at <= timezone.now()
        return context


class GoLiveRuleFormView(RoleRequiredMixin, View):
    """Create (``?release=KEY`` or ``?region=code`` prefill) or edit a go-live rule."""

    template_name = "scheduling/planning/form.html"

    def get_permission_required(self):
        if "pk" in self.kwargs:
            return ("scheduling.change_goliverule",)
        return ("scheduling.add_goliverule",)

    def _render(self, request, form, status=200):
        rule = form.instance
        release = rule.release if rule.pk and rule.release_id else None
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "release": release,
                "title": f"Edit go-live rule “{rule}”" if rule.pk else "New go-live rule",
                "submit": "Save changes" if rule.pk else "Create rule",
                "cancel_url": rule.get_absolute_url() if rule.pk else reverse("golive_rule_list"),
                "list_url": reverse("golive_rule_list"),
            },
            status=status,
        )

    def get(self, request, pk=None):
        if pk is not None:
            form = GoLiveRuleForm(instance=get_object_or_404(_rules(), pk=pk))
        else:
            initial = {
                k: request.GET[k] for k in ("release", "region", "service") if request.GET.get(k)
            }
            form = GoLiveRuleForm(initial=initial)
        return self._render(request, form)

    def post(self, request, pk=None):
        rule = get_object_or_404(_rules(), pk=pk) if pk is not None else GoLiveRule()
        creating = rule.pk is None
        form = GoLiveRuleForm(request.POST, instance=rule)
        if not form.is_valid():
            return self._render(request, form, status=400)
        with transaction.atomic():
            saved = form.save(commit=False)
            reason = "created" if creating else form.cleaned_data.get("change_reason") or "edited"
            saved.save_with_reason(history_reason(reason), user=request.user)
        messages.success(request, f"Go-live rule “{saved}” {'created' if creating else 'saved'}.")
        if saved.release_id and request.POST.get("back") == "release":
            return redirect(schedule_url(saved.release))
        return redirect(saved.get_absolute_url())


class GoLiveRuleDeleteView(ConfirmDeleteView):
    permission_required = "scheduling.delete_goliverule"
    model = GoLiveRule
    success_url = reverse_lazy("golive_rule_list")
    list_url_name = "golive_rule_list"

    def get_queryset(self):
        return _rules()
