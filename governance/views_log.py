"""Decision-log pages: the log (filters, export), one entry, and the chain verification.

Read-only for everyone with a role (the auditor included): entries are written only by
``governance.decision_log.append`` and never changed.
"""

from __future__ import annotations

import csv
import json

from django import forms
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from governance import decision_log
from governance.filtersets_log import DecisionRecordFilterSet
from governance.models import DecisionRecord
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, is_htmx, paginate
from releases.models import Release

PER_PAGE = 50
VIEW_PERMISSION = "governance.view_decisionrecord"
EXPORT_FIELDS = [
    "sequence",
    "recorded_at",
    "kind",
    "outcome",
    "summary",
    "actor_name",
    "release_key",
    "subject",
    "reasons",
    "data",
    "previous_hash",
    "entry_hash",
]


def _filterset(request) -> DecisionRecordFilterSet:
    return DecisionRecordFilterSet(
        request.GET or None, queryset=DecisionRecord.objects.order_by("-sequence")
    )


class DecisionLogListView(RoleRequiredMixin, View):
    permission_required = VIEW_PERMISSION

    def get(self, request):
        filterset = _filterset(request)
        page = paginate(request, filterset.qs, PER_PAGE)
        form = style_filter_form(filterset.form)
        for name, placeholder in (
            ("release", "REL-…"),
            ("actor", "username"),
            ("outcome", "approved…"),
            ("since", "2026-01-01T00:00Z"),
            ("until", "2026-02-01T00:00Z"),
        ):
            form.fields[name].widget = forms.TextInput(
                attrs={"class": "form-control form-control-sm", "placeholder": placeholder}
            )
        form.fields["kind"].widget = forms.Select(
            choices=[("", "Any"), *form.fields["kind"].choices],
            attrs={"class": "form-select form-select-sm"},
        )
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "export_query": query.urlencode(),
        }
        template = "governance/log_table.html" if is_htmx(request) else "governance/log_list.html"
        return render(request, template, context)


class DecisionRecordDetailView(RoleRequiredMixin, View):
    permission_required = VIEW_PERMISSION

    def get(self, request, sequence):
        entry = DecisionRecord.objects.filter(sequence=sequence).select_related("actor").first()
        if entry is None:
            raise Http404(f"No decision-log entry #{sequence}.")
        before = DecisionRecord.objects.filter(sequence__lt=sequence).order_by("-sequence")
        after = DecisionRecord.objects.filter(sequence__gt=sequence).order_by("sequence")
        previous = before.only("sequence", "entry_hash").first()
        context = {
            "entry": entry,
            "release": Release.objects.filter(key=entry.release_key).first()
            if entry.release_key
            else None,
            "subject": entry.subject_object(),
            "hash_ok": decision_log.compute_hash(entry) == entry.entry_hash,
            "link_ok": entry.previous_hash
            == (previous.entry_hash if previous else decision_log.GENESIS_HASH),
            "previous": previous,
            "next": after.only("sequence").first(),
            "data_json": json.dumps(entry.data, indent=2, sort_keys=True, ensure_ascii=False),
        }
        return render(request, "governance/log_detail.html", context)


class DecisionLogVerifyView(RoleRequiredMixin, View):
    permission_required = VIEW_PERMISSION

    def get(self, request):
        result = decision_log.verify()
        existing = set(
            DecisionRecord.objects.filter(
                sequence__in=[p["sequence"] for p in result.problems]
            ).values_list("sequence", flat=True)
        )
        for problem in result.problems:
            problem["exists"] = problem["sequence"] in existing
        return render(request, "governance/log_verify.html", {"result": result})


class _Echo:
    def write(self, value):
        return value


def _csv_rows(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_FIELDS)
    for entry in queryset.iterator(chunk_size=1000):
        row = _export_dict(entry)
        yield writer.writerow(
            [
                json.dumps(row[f], sort_keys=True, ensure_ascii=False)
                if isinstance(row[f], (dict, list))
                else row[f]
                for f in EXPORT_FIELDS
            ]
        )


def _jsonl_rows(queryset):
    for entry in queryset.iterator(chunk_size=1000):
        yield json.dumps(_export_dict(entry), sort_keys=True, ensure_ascii=False) + "\n"


def _export_dict(entry) -> dict:
    row = {f: getattr(entry, f) for f in EXPORT_FIELDS}
    row["recorded_at"] = decision_log.content_of(entry)["recorded_at"]
    return row


class DecisionLogExportView(RoleRequiredMixin, View):
    """``?format=csv`` (default) or ``?format=jsonl``, with the list's filters, oldest first."""

    permission_required = VIEW_PERMISSION

    def get(self, request):
        filterset = _filterset(request)
        if filterset.is_bound and not filterset.is_valid():
            return HttpResponseBadRequest(
                "Invalid filters: "
                + "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items()),
                content_type="text/plain; charset=utf-8",
            )
        queryset = filterset.qs.order_by("sequence")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        if request.GET.get("format") == "jsonl":
            response = StreamingHttpResponse(
                _jsonl_rows(queryset), content_type="application/x-ndjson; charset=utf-8"
            )
            name = f"decision-log-{stamp}.jsonl"
        else:
            response = StreamingHttpResponse(
                _csv_rows(queryset), content_type="text/csv; charset=utf-8"
            )
            name = f"decision-log-{stamp}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
