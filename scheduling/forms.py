"""Forms for environments and freeze windows. Rules stay on the models."""

from django import forms
from django.utils import timezone

from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.catalog_forms import ChangeReasonMixin, check_slug
from releases.models import Service
from scheduling.models import Environment, FreezeWindow


class EnvironmentForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    class Meta:
        model = Environment
        fields = ["slug", "name", "order", "is_production", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"order": "Promotion order", "is_production": "Production"}

    def clean_slug(self):
        return check_slug(self.cleaned_data["slug"])

    def clean_order(self):
        order = self.cleaned_data["order"]
        taken = Environment.objects.filter(order=order).exclude(pk=self.instance.pk).first()
        if taken is not None:
            raise forms.ValidationError(
                f"{taken.name} already has promotion order {order}; each environment needs "
                "its own place in the order.",
                code="unique",
            )
        return order


class FreezeWindowForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Leave empty to freeze <strong>all services</strong>. "
        "Ctrl/⌘-click to pick several.",
    )
    environments = forms.ModelMultipleChoiceField(
        queryset=Environment.objects.order_by("order"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5}),
        help_text="Leave empty to freeze <strong>all environments</strong>.",
    )

    class Meta:
        model = FreezeWindow
        fields = ["name", "reason", "start", "end", "services", "environments"]
        widgets = {
            "reason": forms.Textarea(attrs={"rows": 3}),
            "start": DateTimeInput(),
            "end": DateTimeInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        for name in ("start", "end"):
            self.fields[name].help_text = f"Time zone: {zone}."
