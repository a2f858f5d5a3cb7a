"""/metrics/import/: a release manager uploads a JSON-lines history file and sees what it
imported, or every bad line's number and message (nothing written)."""

from django import forms
from django.shortcuts import render
from django.views import View

from metrics.history import IMPORT_PERMISSION, import_lines
from metrics.models.history import DeploymentRecord, RecordSource
from metrics.models.incidents import Incident
from releasemgr.web import RoleRequiredMixin

MAX_UPLOAD_MB = 200


class HistoryImportForm(forms.Form):
    file = forms.FileField(
        label="History file (.jsonl)",
        help_text="One JSON object per line: deployments and incidents (see docs/import.md).",
    )
    create_missing = forms.BooleanField(
        required=False,
        label="Create unknown services and environments",
        help_text="Otherwise a line naming one is an error.",
    )
    team = forms.SlugField(
        required=False, label="Team of created services", help_text="Default: imported."
    )
    dry_run = forms.BooleanField(required=False, label="Dry run (check only, write nothing)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_MB * 1024 * 1024:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_MB} MB.")
        return upload


class HistoryImportView(RoleRequiredMixin, View):
    permission_required = IMPORT_PERMISSION
    template_name = "metrics/history_import.html"

    def _context(self, form, result=None):
        return {
            "form": form,
            "result": result,
            "imported_deployments": DeploymentRecord.objects.filter(
                source=RecordSource.IMPORT
            ).count(),
            "native_deployments": DeploymentRecord.objects.filter(
                source=RecordSource.NATIVE
            ).count(),
            "imported_incidents": Incident.objects.exclude(external_id="").count(),
        }

    def get(self, request):
        return render(request, self.template_name, self._context(HistoryImportForm()))

    def post(self, request):
        form = HistoryImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, self._context(form), status=400)
        data = form.cleaned_data
        lines = (raw.decode("utf-8", errors="replace") for raw in data["file"])
        result = import_lines(
            lines,
            request.user,
            create_missing=data["create_missing"],
            team=data["team"] or None,
            dry_run=data["dry_run"],
        )
        status = 200 if result.ok else 400
        return render(request, self.template_name, self._context(form, result), status=status)
