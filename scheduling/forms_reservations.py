"""Forms for bookings, test data sets, validation needs and release dependencies.

They only parse input; the booking rules live in ``scheduling.reservations``.
"""

from django import forms
from django.utils import timezone

from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.catalog_forms import ChangeReasonMixin, check_slug
from releases.models import Release
from scheduling.choices import ReservationPurpose
from scheduling.models import (
    Environment,
    ReleaseDependency,
    TestDataSet,
    ValidationNeed,
)
from scheduling.sequencer import DONE_STATES, cycle_through


def bookable_environments():
    return Environment.objects.filter(is_production=False).order_by("order")


class ReleaseField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.key} {obj.name}"


class EnvironmentField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} (capacity {obj.capacity})"


class ReservationForm(BootstrapFormMixin, forms.Form):
    release = ReleaseField(
        queryset=Release.objects.exclude(state__in=DONE_STATES).order_by("-key"),
        to_field_name="key",
        empty_label="Choose a release",
    )
    environment = EnvironmentField(
        queryset=bookable_environments(),
        to_field_name="slug",
        empty_label="Choose an environment",
        help_text="Production is not booked: reservations are for validation.",
    )
    purpose = forms.ChoiceField(choices=ReservationPurpose.choices)
    start = forms.DateTimeField(widget=DateTimeInput())
    end = forms.DateTimeField(widget=DateTimeInput())
    test_data_sets = forms.ModelMultipleChoiceField(
        queryset=TestDataSet.objects.prefetch_related("environments").order_by("name"),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Shared test data: one validation at a time may use a data set.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        zone = timezone.get_current_timezone_name()
        self.fields["start"].help_text = f"Time zone: {zone}."
        self.fields["end"].help_text = f"Time zone: {zone}."
        self.fields["test_data_sets"].widget.attrs["class"] = "form-check-input"


class TestDataSetForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    __test__ = False  # not a pytest test class

    environments = forms.ModelMultipleChoiceField(
        queryset=bookable_environments(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Where this data is loaded; a booking may use it only there.",
    )

    class Meta:
        model = TestDataSet
        fields = ["slug", "name", "description", "environments"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["environments"].widget.attrs["class"] = "form-check-input"

    def clean_slug(self):
        return check_slug(self.cleaned_data["slug"])


class ValidationNeedForm(BootstrapFormMixin, forms.ModelForm):
    environment = EnvironmentField(queryset=bookable_environments(), empty_label="Environment")

    class Meta:
        model = ValidationNeed
        fields = ["environment", "hours"]
        labels = {"hours": "Hours"}

    def __init__(self, *args, release=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = release
        self.fields["hours"].widget.attrs.update({"min": 1, "max": 2000})

    def clean(self):
        data = super().clean()
        env = data.get("environment")
        if (
            self.release is not None
            and env is not None
            and ValidationNeed.objects.filter(release=self.release, environment=env)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise forms.ValidationError(
                f"{self.release.key} already has a validation need in {env.name}; remove it "
                "first to change its hours."
            )
        return data


class ReleaseDependencyForm(BootstrapFormMixin, forms.ModelForm):
    after = ReleaseField(
        queryset=Release.objects.exclude(state__in=("cancelled",)).order_by("-key"),
        to_field_name="key",
        empty_label="Release it must follow",
        label="Ships after",
    )

    class Meta:
        model = ReleaseDependency
        fields = ["after", "reason"]

    def __init__(self, *args, release=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.release = release
        if release is not None:
            self.fields["after"].queryset = self.fields["after"].queryset.exclude(pk=release.pk)

    def clean_after(self):
        after = self.cleaned_data["after"]
        if (
            self.release is not None
            and ReleaseDependency.objects.filter(release=self.release, after=after).exists()
        ):
            raise forms.ValidationError(f"{self.release.key} already ships after {after.key}.")
        if self.release is not None:
            cycle = cycle_through(self.release, after)
            if cycle:
                raise forms.ValidationError(
                    "That would make a dependency cycle: "
                    + ", ".join(f"{a} after {b}" for a, b in zip(cycle, cycle[1:], strict=False))
                    + "."
                )
        return after
