"""Forms for environments, calendar windows, regions, holiday imports and the calendar filters.

Rules stay on the models and in ``scheduling.windows`` / ``scheduling.holidays``; the forms
only turn what a person typed into values (e.g. wall-clock times in the window's own zone).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.catalog_forms import ChangeReasonMixin, check_slug
from releases.choices import ChangeType
from releases.models import Service, Team
from scheduling.choices import Hardness, WindowKind
from scheduling.models import Environment, FreezeWindow, Region
from scheduling.validators import _zones, validate_timezone


class EnvironmentForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    class Meta:
        model = Environment
        fields = [
            "slug",
            "name",
            "order",
            "is_production",
            "capacity",
            "requires_reservation",
            "spare_capacity_percent",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"order": "Promotion order", "is_production": "Production"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Most environments hold one release at a time: leaving it empty means 1.
        self.fields["capacity"].required = False

    def clean_capacity(self):
        return self.cleaned_data.get("capacity") or 1

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


# --- calendar windows ------------------------------------------------------------------------

# Offered in the form; the rule text stays the source of truth (any RRULE may be typed).
# start/end are the wall-clock times the preset suggests; days = how many days later it ends.
RRULE_PRESETS = [
    {
        "key": "weekdays-office",
        "label": "Every weekday 09:00–17:00",
        "rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "describes": "Every weekday (Mon–Fri)",
        "start": "09:00",
        "end": "17:00",
        "days": 0,
    },
    {
        "key": "weekends",
        "label": "Every weekend (Saturday and Sunday, all day)",
        "rule": "FREQ=WEEKLY;BYDAY=SA,SU",
        "describes": "Every Saturday and Sunday",
        "start": "00:00",
        "end": "00:00",
        "days": 1,
    },
    {
        "key": "month-end",
        "label": "Last 3 business days of every month (all day)",
        "rule": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1",
        "describes": "The last 3 business days of every month",
        "start": "00:00",
        "end": "00:00",
        "days": 1,
    },
    {
        "key": "first-business-day",
        "label": "First business day of every month (all day)",
        "rule": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
        "describes": "The first business day of every month",
        "start": "00:00",
        "end": "00:00",
        "days": 1,
    },
    {
        "key": "sunday-night",
        "label": "Every Sunday 02:00–04:00 (maintenance)",
        "rule": "FREQ=WEEKLY;BYDAY=SU",
        "describes": "Every Sunday",
        "start": "02:00",
        "end": "04:00",
        "days": 0,
    },
    {
        "key": "daily",
        "label": "Every day (same times)",
        "rule": "FREQ=DAILY",
        "describes": "Every day",
        "start": "",
        "end": "",
        "days": 0,
    },
]

_DAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}


def _ordinal(n: int) -> str:
    if n == -1:
        return "last"
    if n < 0:
        return f"{_ordinal(-n)}-last"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _join(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def describe_rrule(rrule: str) -> str:
    """A preset's description, else the common RRULE shapes in plain words, else the rule.

    Only for display: anything this does not understand is returned unchanged."""
    text = (rrule or "").strip().upper()
    if text.startswith("RRULE:"):
        text = text[6:]
    for preset in RRULE_PRESETS:
        if preset["rule"] == text:
            return preset["describes"]
    try:
        parts = dict(p.split("=", 1) for p in text.split(";") if p)
    except ValueError:
        return rrule
    freq = parts.pop("FREQ", "")
    interval = parts.pop("INTERVAL", "1")
    count = parts.pop("COUNT", None)
    parts.pop("WKST", None)
    parts.pop("UNTIL", None)  # shown separately as "until"
    byday = [d for d in parts.pop("BYDAY", "").split(",") if d]
    bymonthday = parts.pop("BYMONTHDAY", "")
    if freq not in _UNITS or parts or not interval.isdigit() or int(interval) < 1:
        return rrule
    if any(d not in _DAY_NAMES for d in byday) or (bymonthday and byday):
        return rrule
    unit = _UNITS[freq]
    every = f"Every {unit}" if interval == "1" else f"Every {interval} {unit}s"
    if byday:
        if freq == "DAILY":
            return rrule
        if sorted(byday) == sorted(["MO", "TU", "WE", "TH", "FR"]) and freq == "WEEKLY":
            text_out = "Every weekday (Mon–Fri)" if interval == "1" else f"{every}, Mon–Fri"
        else:
            names = _join([_DAY_NAMES[d] for d in byday])
            text_out = (
                f"Every {names}" if freq == "WEEKLY" and interval == "1" else f"{every} on {names}"
            )
    elif bymonthday:
        if freq != "MONTHLY":
            return rrule
        try:
            days = [_ordinal(int(d)) for d in bymonthday.split(",")]
        except ValueError:
            return rrule
        text_out = f"{every} on the {_join(days)} day"
    else:
        text_out = every
    if count and count.isdigit():
        text_out += f", {count} time{'s' if count != '1' else ''}"
    return text_out


COMMON_ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
]


def zone_names() -> list[str]:
    """Every IANA zone, the common ones first (for a datalist)."""
    rest = sorted(z for z in _zones() if z not in COMMON_ZONES and "/" in z)
    return COMMON_ZONES + rest


def _as_local(value: datetime | None, zone: str) -> datetime | None:
    """A datetime the form read in the site's zone, re-read as wall-clock time in ``zone``."""
    if value is None:
        return None
    naive = timezone.make_naive(value, timezone.get_current_timezone())
    return naive.replace(tzinfo=ZoneInfo(zone))


class ZoneInput(forms.TextInput):
    """A text input with the zone list as suggestions (typing stays possible)."""

    def __init__(self, attrs=None):
        super().__init__({"list": "zone-names", "autocomplete": "off", **(attrs or {})})


class FreezeWindowForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    """A calendar window of any kind. Start, end and recurrence end are wall-clock times in the
    window's own time zone."""

    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Leave services and teams empty to cover <strong>all services</strong>. "
        "Ctrl/⌘-click to pick several.",
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Covers every service of these teams (in addition to the services picked).",
    )
    environments = forms.ModelMultipleChoiceField(
        queryset=Environment.objects.order_by("order"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Leave empty to cover <strong>all environments</strong>.",
    )
    regions = forms.ModelMultipleChoiceField(
        queryset=Region.objects.order_by("rollout_order", "code"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Leave empty to cover <strong>all regions</strong>.",
    )
    allowed_change_types = forms.MultipleChoiceField(
        choices=ChangeType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="May ship without an exception",
        help_text="The holiday/peak-period policy: e.g. tick Standard and Emergency so only "
        "those ship during the freeze; Normal changes then need an exception.",
    )
    # Empty = keep the current value (or the model default for a new window), so scripts and
    # older forms that do not send these fields keep working.
    kind = forms.ChoiceField(
        choices=WindowKind.choices,
        required=False,
        help_text="Freeze and blackout stop deployments; a release window says when they may "
        "happen; maintenance only informs.",
    )
    hardness = forms.ChoiceField(
        choices=Hardness.choices,
        required=False,
        help_text="Only for freeze, blackout and release windows (maintenance windows never "
        "block). Hard: the gate denies. Soft: the gate warns and the deployer must give a reason.",
    )
    timezone = forms.CharField(
        label="Time zone",
        max_length=64,
        required=False,
        widget=ZoneInput(),
        help_text="IANA name, e.g. Europe/Berlin. Start, end and the recurrence are read in it, "
        "so a 09:00 window stays at 09:00 local time across daylight-saving changes.",
    )

    class Meta:
        model = FreezeWindow
        fields = [
            "name",
            "kind",
            "hardness",
            "timezone",
            "start",
            "end",
            "rrule",
            "recurrence_until",
            "services",
            "teams",
            "environments",
            "regions",
            "allowed_change_types",
            "reason",
        ]
        widgets = {
            "reason": forms.Textarea(attrs={"rows": 3}),
            "start": DateTimeInput(),
            "end": DateTimeInput(),
            "recurrence_until": DateTimeInput(),
            "rrule": forms.TextInput(
                attrs={
                    "placeholder": "e.g. FREQ=WEEKLY;BYDAY=SA,SU",
                    "spellcheck": "false",
                    "class": "font-monospace",
                }
            ),
        }
        labels = {
            "rrule": "Repeats (RRULE)",
            "recurrence_until": "Repeats until",
            "start": "Start",
            "end": "End",
        }
        help_texts = {
            "rrule": "Empty = one-off. Pick a preset or type an iCalendar RRULE. The start and "
            "end set the times of day (and the date from which it repeats); occurrences fall "
            "on the days the rule names.",
            "recurrence_until": "Optional: no occurrence starts after this moment "
            "(window's time zone).",
            "reason": "Why the window exists (shown on the calendar and to deployers).",
        }

    presets = RRULE_PRESETS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = self.instance
        self.fields["kind"].choices = WindowKind.choices
        self.fields["hardness"].choices = Hardness.choices
        self.fields["allowed_change_types"].widget.attrs["class"] = "form-check-input"
        if instance.pk is None:
            self.initial.setdefault("timezone", timezone.get_current_timezone_name())
            self.initial.setdefault("kind", WindowKind.FREEZE)
            self.initial.setdefault("hardness", Hardness.HARD)
        else:
            # Shown as the wall-clock times of the window's own zone.
            zone = ZoneInfo(instance.timezone or "UTC")
            for name in ("start", "end", "recurrence_until"):
                value = getattr(instance, name)
                if value is not None:
                    self.initial[name] = value.astimezone(zone).replace(tzinfo=None)

    def clean_timezone(self):
        zone = (self.cleaned_data.get("timezone") or "").strip()
        if not zone:
            return (
                self.instance.timezone if self.instance.pk else timezone.get_current_timezone_name()
            )
        validate_timezone(zone)
        return zone

    def clean_kind(self):
        return self.cleaned_data.get("kind") or self.instance.kind or WindowKind.FREEZE

    def clean_hardness(self):
        return self.cleaned_data.get("hardness") or self.instance.hardness or Hardness.HARD

    def clean_rrule(self):
        return (self.cleaned_data.get("rrule") or "").strip()

    def clean(self):
        cleaned = super().clean()
        zone = cleaned.get("timezone")
        if zone:
            for name in ("start", "end", "recurrence_until"):
                if cleaned.get(name) is not None:
                    cleaned[name] = _as_local(cleaned[name], zone)
        return cleaned


# --- regions ---------------------------------------------------------------------------------


class RegionForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    class Meta:
        model = Region
        fields = ["code", "name", "timezone", "country_code", "subdivision", "rollout_order"]
        widgets = {"timezone": ZoneInput()}
        labels = {"country_code": "Country (ISO code)"}

    def clean_code(self):
        return check_slug(self.cleaned_data["code"])

    def clean_country_code(self):
        return (self.cleaned_data.get("country_code") or "").strip().upper()

    def clean_subdivision(self):
        return (self.cleaned_data.get("subdivision") or "").strip().upper()

    def clean(self):
        cleaned = super().clean()
        from scheduling.holidays import check_country

        country, subdivision = cleaned.get("country_code"), cleaned.get("subdivision")
        if subdivision and not country:
            self.add_error("subdivision", "A subdivision needs a country code.")
        elif country:
            problem = check_country(country, subdivision)
            if problem:
                field, message = problem
                self.add_error(field, message)
        return cleaned


class HolidayImportForm(BootstrapFormMixin, forms.Form):
    """Turn a region's public holidays for a year into one-off windows."""

    year = forms.IntegerField(min_value=2000, max_value=2100)
    kind = forms.ChoiceField(
        choices=[(WindowKind.FREEZE, "Freeze"), (WindowKind.BLACKOUT, "Blackout")],
        initial=WindowKind.FREEZE,
    )
    hardness = forms.ChoiceField(choices=Hardness.choices, initial=Hardness.SOFT)
    allowed_change_types = forms.MultipleChoiceField(
        choices=ChangeType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="May ship without an exception",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].initial = timezone.localdate().year + 1
        self.fields["allowed_change_types"].widget.attrs["class"] = "form-check-input"


# --- calendar filters ------------------------------------------------------------------------


class CalendarFilterForm(forms.Form):
    """What the calendar page and the .ics feed show. Unknown values are field errors."""

    view = forms.ChoiceField(
        choices=[("month", "Month"), ("week", "Week")], required=False, initial="month"
    )
    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"), to_field_name="slug", required=False
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), to_field_name="slug", required=False
    )
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.order_by("order"), to_field_name="slug", required=False
    )
    region = forms.ModelChoiceField(
        queryset=Region.objects.order_by("rollout_order", "code"),
        to_field_name="code",
        required=False,
    )

    FILTERS = ("team", "service", "environment", "region")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.FILTERS:
            field = self.fields[name]
            field.empty_label = "Any"
            field.widget.attrs["class"] = "form-select form-select-sm"
        self.fields["view"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["date"].widget.attrs["class"] = "form-control form-control-sm"

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {name: data.get(name) for name in self.FILTERS}

    def query(self, **override) -> str:
        """The filter part of a URL (``team=...&region=...``), for links and the feed."""
        from urllib.parse import urlencode

        values = {}
        for name, value in self.filters().items():
            if value is not None:
                values[name] = value.code if name == "region" else value.slug
        values.update({k: v for k, v in override.items() if v})
        return urlencode(values)
