"""Ticket triage pages: the ticket list, one ticket with its evidence, overriding its
classification, and importing a CSV from the help desk.

The rules are in ``metrics.triage``; these views parse input, call it and show its answer.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from metrics import triage
from metrics.filtersets_tickets import SupportTicketFilterSet
from metrics.forms_tickets import OverrideForm, TicketImportForm
from metrics.models import SupportTicket
from releasemgr.decisions import NotPermitted
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate

PER_PAGE = 25


def _tickets():
    return SupportTicket.objects.select_related("service", "attributed_release", "overridden_by")


class TicketListView(RoleRequiredMixin, View):
    model = SupportTicket
    permission_required = "metrics.view_supportticket"

    def get(self, request):
        filterset = SupportTicketFilterSet(request.GET or None, queryset=_tickets())
        page = paginate(request, filterset.qs, PER_PAGE)
        form = style_filter_form(filterset.form)
        for name, placeholder in (("release", "REL-…"), ("service", "service slug")):
            form.fields[name].widget = forms.TextInput(
                attrs={"class": "form-control form-control-sm", "placeholder": placeholder}
            )
        for name in ("since", "until"):
            form.fields[name].widget = forms.DateInput(
                attrs={"class": "form-control form-control-sm", "type": "date"}
            )
        totals = {
            row["classification"]: row["n"]
            for row in filterset.qs.order_by().values("classification").annotate(n=Count("pk"))
        }
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "totals": totals,
            "window_hours": triage.window_hours(),
        }
        template = "metrics/ticket_table.html" if is_htmx(request) else "metrics/ticket_list.html"
        return render(request, template, context)


def render_ticket(request, ticket, status=200, form=None):
    matches = [
        m
        for r in ticket.evidence or []
        for m in (r.get("data") or {}).get("matches", [])
        if isinstance(m, dict)
    ]
    context = {
        "ticket": ticket,
        "matches": matches,
        "can_override": request.user.has_perm(triage.OVERRIDE_PERMISSION),
        "form": form
        or OverrideForm(
            initial={
                "classification": ticket.classification,
                "release": ticket.attributed_release.key if ticket.attributed_release else None,
            }
        ),
        "history": history_rows(ticket),
        "window_hours": triage.window_hours(),
    }
    return render(request, "metrics/ticket_detail.html", context, status=status)


class TicketDetailView(RoleRequiredMixin, View):
    model = SupportTicket
    permission_required = "metrics.view_supportticket"

    def get(self, request, pk):
        return render_ticket(request, get_object_or_404(_tickets(), pk=pk))


class TicketOverrideView(RoleRequiredMixin, View):
    """Set the classification by hand with a reason (release managers, deployers)."""

    model = SupportTicket
    permission_required = triage.OVERRIDE_PERMISSION

    def get(self, request, pk):
        return redirect(get_object_or_404(_tickets(), pk=pk).get_absolute_url() + "#override")

    def post(self, request, pk):
        ticket = get_object_or_404(_tickets(), pk=pk)
        form = OverrideForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                updated = triage.override(
                    ticket,
                    request.user,
                    data["classification"],
                    data["reason"],
                    release=data["release"],
                )
            except NotPermitted as exc:
                messages.error(request, exc.message)
                return render_ticket(request, ticket, status=403, form=form)
            except triage.InvalidInput as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(
                    request,
                    f"{updated.external_id} is now {updated.get_classification_display().lower()}.",
                )
                return redirect(updated)
        return render_ticket(request, ticket, status=400, form=form)


class TicketImportView(RoleRequiredMixin, View):
    """Upload a help desk CSV: all rows are imported and triaged, or none."""

    model = SupportTicket
    permission_required = triage.IMPORT_PERMISSION
    template_name = "metrics/ticket_import.html"

    def _render(self, request, form, status=200, problems=None):
        context = {
            "form": form,
            "problems": problems or [],
            "columns": triage.CSV_COLUMNS,
            "window_hours": triage.window_hours(),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request):
        return self._render(request, TicketImportForm())

    def post(self, request):
        form = TicketImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            rows = triage.read_csv(form.cleaned_data["file"].read())
            created = triage.import_tickets(rows, request.user, source="csv")
        except triage.InvalidInput as exc:
            # CSV rows are counted from the first line under the header; say the file's line too.
            problems = [
                {
                    "row": r.data.get("row"),
                    "line": r.data["row"] + 1 if r.data.get("row") else None,
                    "field": r.data.get("field"),
                    "message": r.message.split(": ", 1)[1] if r.data.get("row") else r.message,
                }
                for r in exc.reasons
            ]
            form.add_error("file", "Nothing was imported: fix the rows below and upload again.")
            return self._render(request, form, status=400, problems=problems)
        counts = {}
        for ticket in created:
            label = ticket.get_classification_display().lower()
            counts[label] = counts.get(label, 0) + 1
        messages.success(
            request,
            f"Imported {len(created)} ticket{'s' if len(created) != 1 else ''}: "
            + ", ".join(f"{n} {label}" for label, n in counts.items())
            + ".",
        )
        return redirect("support_ticket_list")
