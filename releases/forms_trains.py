"""Forms for trains (create/edit, add or remove a release, decouple a service) and shared
libraries (a service's usage, a release's pin)."""

from django import forms

from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.libraries import shared_libraries
from releases.models import Release, Service
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain


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


class RemoveReleaseForm(forms.Form):
    release = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(required=False, max_length=500)


class LibraryUsageForm(BootstrapFormMixin, forms.ModelForm):
    """A service declares the version of a shared library it uses."""

    service = forms.ModelChoiceField(
        queryset=Service.objects.select_related("team").order_by("name"), to_field_name="slug"
    )
    library = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        to_field_name="slug",
        help_text="A shared library: a service other services link as a library dependency.",
    )
    reason = forms.CharField(required=False, max_length=200, help_text="Why (kept in the history).")

    class Meta:
        model = LibraryUsage
        fields = ["service", "library", "version", "since"]
        widgets = {"since": forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})}
        help_texts = {"version": "A semantic version, e.g. 2.4.0 or 3.0.0-rc.1."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["library"].queryset = shared_libraries().order_by("name")


class ReleaseLibraryPinForm(BootstrapFormMixin, forms.ModelForm):
    """The version of a shared library a release brings its services onto."""

    library = forms.ModelChoiceField(queryset=Service.objects.none(), to_field_name="slug")
    reason = forms.CharField(required=False, max_length=200, help_text="Why (kept in the history).")

    class Meta:
        model = ReleaseLibraryPin
        fields = ["library", "version"]
        help_texts = {"version": "A semantic version, e.g. 3.0.0."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["library"].queryset = shared_libraries().order_by("name")
