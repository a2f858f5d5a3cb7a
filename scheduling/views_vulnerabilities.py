"""Vulnerability pages: the patch list, a vulnerability, its patch release, and the SLAs."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.views import View
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.views import ConfirmDeleteView, ModelFormSaveMixin, style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Service
from scheduling import patching
from scheduling.choices import Severity
from scheduling.filtersets_vulnerabilities import VulnerabilityFilterSet
from scheduling.forms_vulnerabilities import (
    PatchReleaseForm,
    PatchSlaExtraForm,
    PatchSlaFormSet,
    VulnerabilityForm,
)
from scheduling.models import PatchSlaPolicy, Vulnerability

SEVERITY_ORDER = {s: i for i, s in enumerate(Severity.values)}


def _counts(now, known) -> dict:
    """How many unresolved vulnerabilities are overdue / at risk (one query)."""
    return Vulnerability.objects.aggregate(
        overdue=Count("pk", filter=patching.state_q(patching.OVERDUE, now, known)),
        at_risk=Count("pk", filter=patching.state_q(patching.AT_RISK, now, known)),
        unresolved=Count("pk", filter=patching.state_q(patching.UNRESOLVED_STATE, now, known)),
    )


class VulnerabilityListView(RoleRequiredMixin, ListView):
    """Every vulnerability, soonest due first, with its patch deadline state."""

    permission_required = "scheduling.view_vulnerability"
    template_name = "scheduling/vulnerabilities/vulnerability_list.html"

    def get_queryset(self):
        # What still needs patching first, soonest due first; then the patched and accepted.
        queryset = (
            Vulnerability.objects.select_related("patch_release")
            .prefetch_related("services")
            .annotate(
                resolved=Case(
                    When(status__in=patching.UNRESOLVED, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                )
            )
            .order_by("resolved", "due_at", "pk")
        )
        self.filterset = VulnerabilityFilterSet(self.request.GET or None, queryset=queryset)
        return self.filterset.qs

    def get_template_names(self):
        if is_htmx(self.request):
            return ["scheduling/vulnerabilities/_vulnerability_table.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        known = patching.policies()
        page = paginate(self.request, self.object_list)
        patching.annotate_states(page, now, known)
        context.update(
            page=page,
            now=now,
            filter_form=style_filter_form(self.filterset.form),
            filter_errors=self.filterset.errors if self.filterset.is_bound else {},
            service_choices=Service.objects.order_by("name").values_list("slug", "name"),
            counts=_counts(now, known),
            policies=sorted(known.values(), key=lambda p: SEVERITY_ORDER.get(p.severity, 9)),
        )
        return context


class VulnerabilityDetailView(RoleRequiredMixin, DetailView):
    permission_required = "scheduling.view_vulnerability"
    model = Vulnerability
    template_name = "scheduling/vulnerabilities/vulnerability_detail.html"
    context_object_name = "vulnerability"

    def get_queryset(self):
        return Vulnerability.objects.select_related("patch_release").prefetch_related(
            "services__team"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        vulnerability = self.object
        now = timezone.now()
        known = patching.policies()
        state = patching.status_of(vulnerability, now, known)
        policy = known.get(vulnerability.severity)
        existing = patching._existing_patch(vulnerability)
        user = self.request.user
        context.update(
            now=now,
            sla_state=state,
            sla_state_label=patching.STATE_LABELS[state],
            policy=policy,
            at_risk_hours=(
                round(policy.hours * (1 - float(policy.at_risk_fraction))) if policy else None
            ),
            can_patch=(
                patching.may_create_patch_release(user)
                and existing is None
                and vulnerability.status in patching.UNRESOLVED
            ),
            history=history_rows(vulnerability),
        )
        return context


class VulnerabilityFormMixin(ModelFormSaveMixin):
    model = Vulnerability
    form_class = VulnerabilityForm
    list_url_name = "vulnerability_list"

    def form_valid(self, form):
        # The reason says why the deadline moved, when it did.
        rescored = form.instance.pk and (
            "cvss" in form.changed_data or "discovered_at" in form.changed_data
        )
        if rescored and not form.cleaned_data.get("change_reason"):
            form.cleaned_data["change_reason"] = (
                f"Re-scored (CVSS {form.cleaned_data['cvss']}): severity and due date recomputed"
            )
        return super().form_valid(form)


class VulnerabilityCreateView(RoleRequiredMixin, VulnerabilityFormMixin, CreateView):
    permission_required = "scheduling.add_vulnerability"
    cancel_url = reverse_lazy("vulnerability_list")

    def get_initial(self):
        return {"discovered_at": timezone.localtime().replace(second=0, microsecond=0)}

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class VulnerabilityUpdateView(RoleRequiredMixin, VulnerabilityFormMixin, UpdateView):
    permission_required = "scheduling.change_vulnerability"

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class VulnerabilityDeleteView(ConfirmDeleteView):
    permission_required = "scheduling.delete_vulnerability"
    model = Vulnerability
    success_url = reverse_lazy("vulnerability_list")
    list_url_name = "vulnerability_list"

    def consequences(self) -> list[str]:
        if self.object.patch_release_id:
            return [
                f"Its patch release {self.object.patch_release.key} stays; only the link to "
                "this vulnerability goes."
            ]
        return []


class PatchReleaseCreateView(RoleRequiredMixin, View):
    """Propose a security-patch release for a vulnerability; POST creates it as a draft."""

    permission_required = ("releases.add_release", "scheduling.change_vulnerability")
    template_name = "scheduling/vulnerabilities/patch_release_form.html"

    def _vulnerability(self, pk):
        return get_object_or_404(
            Vulnerability.objects.select_related("patch_release").prefetch_related("services"),
            pk=pk,
        )

    def _render(self, request, vulnerability, form, status=200):
        return render(
            request,
            self.template_name,
            {
                "vulnerability": vulnerability,
                "form": form,
                "plan": form.plan,
                "service_rows": [
                    (service, form[f"version_{service.pk}"]) for service in form.plan.services
                ],
                "existing": patching._existing_patch(vulnerability),
            },
            status=status,
        )

    def get(self, request, pk):
        vulnerability = self._vulnerability(pk)
        existing = patching._existing_patch(vulnerability)
        if existing is not None:
            messages.info(
                request, f"{vulnerability.cve_id} already has patch release {existing.key}."
            )
            return redirect(existing.get_absolute_url())
        plan = patching.plan_patch(vulnerability)
        return self._render(request, vulnerability, PatchReleaseForm(plan=plan))

    def post(self, request, pk):
        vulnerability = self._vulnerability(pk)
        plan = patching.plan_patch(vulnerability)
        form = PatchReleaseForm(request.POST, plan=plan)
        if not form.is_valid():
            return self._render(request, vulnerability, form, status=400)
        try:
            release = patching.create_patch_release(
                vulnerability,
                request.user,
                versions=form.versions(),
                release_version=form.cleaned_data["version"],
                planned_start=form.cleaned_data["planned_start"],
                planned_end=form.cleaned_data["planned_end"],
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = field if field in form.fields else None
                for error in errors:
                    form.add_error(target, error)
            return self._render(request, vulnerability, form, status=400)
        except NotPermitted:
            raise
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(vulnerability.get_absolute_url())
        messages.success(
            request,
            f"{release.key} created as a draft {release.get_change_type_display().lower()} "
            f"security patch for {vulnerability.cve_id}; submit it for approval when ready.",
        )
        return redirect(release.get_absolute_url())


class PatchSlaView(RoleRequiredMixin, View):
    """The patch SLA of each severity; release managers change them."""

    permission_required = "scheduling.view_patchslapolicy"
    template_name = "scheduling/vulnerabilities/patch_sla.html"

    def _formset(self, data=None):
        queryset = PatchSlaPolicy.objects.all()
        formset = PatchSlaFormSet(data, queryset=queryset)
        formset.forms.sort(key=lambda f: SEVERITY_ORDER.get(f.instance.severity, 9))
        return formset

    def _render(self, request, formset, extra, status=200):
        can_edit = request.user.has_perm("scheduling.change_patchslapolicy")
        return render(
            request,
            self.template_name,
            {"formset": formset, "extra_form": extra, "can_edit": can_edit},
            status=status,
        )

    def get(self, request):
        return self._render(request, self._formset(), PatchSlaExtraForm())

    def post(self, request):
        if not request.user.has_perm("scheduling.change_patchslapolicy"):
            raise PermissionDenied("Only release managers change the patch SLAs.")
        formset = self._formset(request.POST)
        extra = PatchSlaExtraForm(request.POST)
        if not (formset.is_valid() and extra.is_valid()):
            return self._render(request, formset, extra, status=400)
        changed = []
        moved = 0
        with transaction.atomic():
            for form in formset.forms:
                if form.has_changed():
                    policy = form.save(commit=False)
                    policy.save_with_reason(
                        f"Patch SLA set to {policy.hours} h, at risk after "
                        f"{policy.at_risk_fraction:.0%}",
                        request.user,
                    )
                    changed.append(policy)
            if extra.cleaned_data["recompute"]:
                for policy in changed:
                    moved += patching.recompute_open(policy.severity, request.user)
        if changed:
            names = ", ".join(p.get_severity_display().lower() for p in changed)
            text = f"Patch SLA saved for {names}."
            if extra.cleaned_data["recompute"]:
                text += f" {moved} open vulnerability due date(s) moved."
            else:
                text += " It applies to vulnerabilities recorded or re-scored from now on."
            messages.success(request, text)
        else:
            messages.info(request, "Nothing changed.")
        return redirect(reverse("patch_sla"))
