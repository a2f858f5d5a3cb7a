"""Forms for trains: create/edit, add a release, decouple a service."""

from django import forms

from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.models import Release
from releases.models.trains import ReleaseTrain


class ReleaseTrainForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = ReleaseTrain
        fields = ["slug", "name", "cadence", "dtstart", "time_zone", "description", "active"]
        widgets = {"dtstart": DateTimeInput(), "description": forms.Textarea(attrs={"rows": 3})}


class AddReleaseForm(BootstrapFormMixin, forms.Form):
    release = forms.ModelChoiceField(
        queryset=Release.objects.filter(state__in=("draft", "rejected"), train_car__isnull=True),
        to_field_name="key",
        help_text="A draft or rejected release that rides no train yet.",
    )
    departure = forms.TypedChoiceField(required=False, help_text="Empty: the next departure.")

    def __init__(self, *args, departures=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departure"].choices = [("", "Next departure")] + [
            (d.isoformat(), f"{d:%Y-%m-%d %H:%M} UTC") for d in departures
        ]
        self._departures = {d.isoformat(): d for d in departures}

    def clean_departure(self):
        value = self.cleaned_data.get("departure")
        return self._departures.get(value) if value else None


class DecoupleForm(BootstrapFormMixin, forms.Form):
    release = forms.CharField(widget=forms.HiddenInput)
    service = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(max_length=500)
