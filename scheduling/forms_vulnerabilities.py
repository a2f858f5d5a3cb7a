"""Forms for vulnerabilities, patch SLAs and patch releases. The rules stay in
``scheduling.patching`` and on the models."""

from django import forms
from django.forms import modelformset_factory
from django.utils import timezone

from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.catalog_forms import ChangeReasonMixin
from releases.models import Service
from releases.validators import validate_version
from scheduling.models import PatchSlaPolicy, Vulnerability


class VulnerabilityForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    cvss = forms.DecimalField(
        label="CVSS score",
        min_value=0,
        max_value=10,
        max_digits=3,
        decimal_places=1,
        error_messages={
            "min_value": "A CVSS score runs from 0.0 to 10.0.",
            "max_value": "A CVSS score runs from 0.0 to 10.0.",
            "max_decimal_places": "Give the CVSS score with one decimal, e.g. 9.8.",
            "max_digits": "A CVSS score runs from 0.0 to 10.0.",
            "invalid": "Enter the CVSS base score as a number, e.g. 7.5.",
        },
        help_text="CVSS base score 0.0–10.0; it sets the severity and so the patch due date.",
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="The services that contain the vulnerable component. Ctrl/⌘-click to pick several.",
        error_messages={"required": "Pick at least one affected service."},
    )

    class Meta:
        model = Vulnerability
        fields = ["cve_id", "title", "cvss", "services", "discovered_at", "status"]
        widgets = {"discovered_at": DateTimeInput()}
        help_texts = {"cve_id": "e.g. CVE-2024-3094."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        self.fields[
            "discovered_at"
        ].help_text = f"When the vulnerability became known to us ({zone}); the SLA runs from here."
        self.fields["cve_id"].widget.attrs["placeholder"] = "CVE-YYYY-NNNN"

    def clean_cve_id(self):
        return self.cleaned_data["cve_id"].strip().upper()


class PatchSlaPolicyForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = PatchSlaPolicy
        fields = ["hours", "at_risk_fraction"]
        labels = {"hours": "Patch within (hours)", "at_risk_fraction": "At risk after"}
        widgets = {
            "hours": forms.NumberInput(attrs={"min": 1}),
            "at_risk_fraction": forms.NumberInput(attrs={"min": 0.1, "max": 1, "step": 0.05}),
        }


PatchSlaFormSet = modelformset_factory(
    PatchSlaPolicy, form=PatchSlaPolicyForm, extra=0, can_delete=False
)


class PatchSlaExtraForm(forms.Form):
    recompute = forms.BooleanField(
        required=False,
        label="Also move the due dates of open vulnerabilities of the changed severities",
        help_text="Otherwise the new SLA applies to vulnerabilities recorded or re-scored from now on.",
    )


class PatchReleaseForm(BootstrapFormMixin, forms.Form):
    """Versions per affected service and the planned slot, prefilled from the patch plan."""

    version = forms.CharField(
        label="Release version",
        max_length=50,
        validators=[validate_version],
        help_text="The release's own version; usually the patched service's.",
    )
    planned_start = forms.DateTimeField(widget=DateTimeInput())
    planned_end = forms.DateTimeField(widget=DateTimeInput())

    def __init__(self, *args, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.service_fields = []
        for service in plan.services:
            name = f"version_{service.pk}"
            released = plan.released.get(service.pk)
            self.fields[name] = forms.CharField(
                label=f"{service.name} version",
                max_length=50,
                required=True,
                initial=plan.versions.get(service.pk) or "",
                validators=[validate_version],
                help_text=(
                    f"Latest released: {released}." if released else "No released version known."
                ),
                widget=forms.TextInput(attrs={"class": "form-control"}),
                error_messages={"required": f"Enter the patch version of {service.name}."},
            )
            self.service_fields.append(name)
        self.order_fields([*self.service_fields, "version", "planned_start", "planned_end"])
        if not self.is_bound:
            self.initial.setdefault("version", plan.release_version)
            self.initial.setdefault("planned_start", timezone.localtime(plan.planned_start))
            self.initial.setdefault("planned_end", timezone.localtime(plan.planned_end))
        zone = timezone.get_current_timezone_name()
        due = timezone.localtime(plan.due_at)
        self.fields["planned_start"].help_text = (
            f"Time zone: {zone}. Before the due date, {due:%Y-%m-%d %H:%M}."
            if plan.due_at > timezone.now()
            else f"Time zone: {zone}. The due date has passed: as soon as possible."
        )
        self.fields["planned_end"].help_text = f"Time zone: {zone}."

    def versions(self) -> dict[int, str]:
        return {int(name.split("_", 1)[1]): self.cleaned_data[name] for name in self.service_fields}
