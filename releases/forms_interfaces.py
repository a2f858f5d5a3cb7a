"""Forms of the API-version and integration-testing pages. They parse input; the models' own
validation (semantic version, schedule, consumer) and ``releases.integration`` decide."""

from django import forms

from releasemgr.forms import BootstrapFormMixin
from releases import integration
from releases.models import ApiChange, ApiConsumer, ApiVersion, Service, Team
from releases.models.interfaces import SignOffStatus


class DomainErrorsMixin:
    def add_domain_errors(self, exc) -> None:
        """Put each reason of a refusal on the field it names (or on the form)."""
        for reason in exc.reasons or []:
            name = (reason.data or {}).get("field")
            self.add_error(name if name in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%Y-%m-%d")
        super().__init__(**kwargs)


class ServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.slug})"


class ApiVersionForm(BootstrapFormMixin, forms.ModelForm):
    """The version is checked by the model's semver validator, the dates by its ``clean``."""

    service = ServiceChoiceField(
        queryset=Service.objects.order_by("name"), to_field_name="slug", empty_label="Choose…"
    )

    class Meta:
        model = ApiVersion
        fields = ["service", "name", "version", "status", "deprecated_on", "sunset_on"]
        fields += ["description"]
        widgets = {
            "deprecated_on": DateInput(),
            "sunset_on": DateInput(),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"version": "Semantic version MAJOR.MINOR.PATCH, e.g. 2.0.0 or 1.4.0-beta.1."}


class ApiConsumerForm(BootstrapFormMixin, forms.ModelForm):
    """One of our services, or a named external client (the model says which is missing)."""

    consumer_service = ServiceChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="— an external client —",
        label="Internal service",
    )

    class Meta:
        model = ApiConsumer
        fields = ["consumer_service", "external_client", "contact"]

    def __init__(self, *args, api_version=None, **kwargs):
        if api_version is not None:
            kwargs.setdefault("instance", ApiConsumer(api_version=api_version))
        super().__init__(*args, **kwargs)
        if api_version is not None:
            self.fields["consumer_service"].queryset = Service.objects.exclude(
                pk=api_version.service_id
            ).order_by("name")


class ApiVersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} — {obj.service.slug} ({obj.get_status_display().lower()})"


class ApiChangeForm(BootstrapFormMixin, forms.ModelForm):
    """What the release does to one API version; ``api_compat`` flags it on the release page."""

    api_version = ApiVersionChoiceField(
        queryset=ApiVersion.objects.select_related("service").order_by(
            "service__name", "name", "version"
        ),
        empty_label="Choose the API version…",
        label="API version",
    )

    class Meta:
        model = ApiChange
        fields = ["api_version", "change", "note"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, release=None, **kwargs):
        kwargs.setdefault("instance", ApiChange(release=release))
        super().__init__(*args, **kwargs)
        self.release = release

    def clean(self):
        data = super().clean()
        release, version = self.release, data.get("api_version")
        if release.state in integration.FINISHED_STATES:
            raise forms.ValidationError(f"{release.key} is {release.state}; it will not ship.")
        if version and ApiChange.objects.filter(release=release, api_version=version).exists():
            self.add_error("api_version", f"{release.key} already records a change to {version}.")
        return data


class FlowForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    """``integration.add_flow`` says what is missing (a name, the services)."""

    name = forms.CharField(max_length=200, required=False, help_text='e.g. "checkout and pay".')
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.select_related("team").order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Every service the flow goes through; their teams sign it off.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["services"].label_from_instance = lambda s: f"{s.name} (team {s.team.name})"


class SignForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    """A team's verdict; ``integration.sign`` checks membership and that a refusal says why."""

    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), to_field_name="slug", empty_label=None
    )
    verdict = forms.ChoiceField(
        choices=[(SignOffStatus.SIGNED, "Sign"), (SignOffStatus.REFUSED, "Refuse")]
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
        help_text="Required when refusing: what fails for your team.",
    )

    def __init__(self, *args, teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"].queryset = teams
