from collections.abc import Mapping

from rest_framework import serializers

from releasemgr.api.serializers import ValidatedModelSerializer
from releases.choices import ChangeType
from releases.models import Service, Team
from scheduling.choices import BLOCKING_KINDS, Hardness, WindowKind
from scheduling.models import Environment, FreezeWindow, Region


class EnvironmentSerializer(ValidatedModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:environment-detail", lookup_field="slug"
    )

    class Meta:
        model = Environment
        fields = [
            "url",
            "slug",
            "name",
            "order",
            "is_production",
            "capacity",
            "requires_reservation",
            "spare_capacity_percent",
            "description",
            "created",
            "updated",
        ]


class WindowSerializer(ValidatedModelSerializer):
    """A calendar window of any kind (``/api/v1/windows/``).

    ``start``/``end`` are the first occurrence (ISO 8601 with an offset, stored in UTC); with an
    ``rrule`` the window repeats at the same wall-clock times in ``timezone`` until
    ``recurrence_until``. Empty scope lists mean all.
    """

    services = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        many=True,
        required=False,
        help_text="Services covered; empty (with empty teams) = all services.",
    )
    teams = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        many=True,
        required=False,
        help_text="Every service of these teams is covered too.",
    )
    environments = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Environment.objects.all(),
        many=True,
        required=False,
        help_text="Environments covered; empty = all environments.",
    )
    regions = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        many=True,
        required=False,
        help_text="Region codes covered; empty = all regions.",
    )
    allowed_change_types = serializers.ListField(
        child=serializers.ChoiceField(choices=ChangeType.choices),
        required=False,
        help_text="Change types that may ship during the window without an exception.",
    )
    kind = serializers.ChoiceField(choices=WindowKind.choices, default=WindowKind.FREEZE)
    hardness = serializers.ChoiceField(choices=Hardness.choices, default=Hardness.HARD)
    policy = serializers.SerializerMethodField(help_text="What may ship during the window.")
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    source_key = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = FreezeWindow
        fields = [
            "id",
            "name",
            "kind",
            "hardness",
            "reason",
            "start",
            "end",
            "timezone",
            "rrule",
            "recurrence_until",
            "services",
            "teams",
            "environments",
            "regions",
            "allowed_change_types",
            "policy",
            "source_key",
            "created_by",
            "created",
            "updated",
        ]
        skip_model_validation = ("services", "teams", "environments", "regions")

    def get_policy(self, obj) -> str:
        from scheduling.windows import policy_text

        return policy_text(obj)

    def create(self, validated_data):
        validated_data["created_by"] = self.context["request"].user
        return super().create(validated_data)


class FreezeWindowSerializer(WindowSerializer):
    """``/api/v1/freeze-windows/``: the blocking windows (freeze, blackout) only."""

    kind = serializers.ChoiceField(
        choices=[(k.value, k.label) for k in BLOCKING_KINDS],
        default=WindowKind.FREEZE,
        help_text="freeze or blackout (other kinds live at /api/v1/windows/).",
    )


class OccurrenceSerializer(serializers.Serializer):
    """A window occurring at the moment asked about."""

    window = WindowSerializer()
    occurrence_start = serializers.DateTimeField()
    occurrence_end = serializers.DateTimeField()
    blocks = serializers.BooleanField(help_text="A freeze or blackout (stops deployments).")


class ApplicableSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    service = serializers.CharField(allow_null=True)
    team = serializers.CharField(allow_null=True)
    environment = serializers.CharField(allow_null=True)
    region = serializers.CharField(allow_null=True)
    windows = OccurrenceSerializer(many=True)


class ApplicableQuerySerializer(serializers.Serializer):
    """``?service=&team=&environment=&region=&at=`` (all optional; ``at`` defaults to now)."""

    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False
    )
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False
    )
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all(), required=False
    )
    region = serializers.SlugRelatedField(
        slug_field="code", queryset=Region.objects.all(), required=False
    )
    at = serializers.DateTimeField(required=False)
    kind = serializers.MultipleChoiceField(choices=WindowKind.choices, required=False)


class RegionSerializer(ValidatedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:region-detail", lookup_field="code")

    class Meta:
        model = Region
        fields = [
            "url",
            "code",
            "name",
            "timezone",
            "country_code",
            "subdivision",
            "rollout_order",
            "created",
            "updated",
        ]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        from scheduling.holidays import check_country

        country = attrs.get("country_code", getattr(self.instance, "country_code", ""))
        subdivision = attrs.get("subdivision", getattr(self.instance, "subdivision", ""))
        if subdivision and not country:
            raise serializers.ValidationError(
                {"subdivision": "A subdivision needs a country code."}
            )
        if country:
            problem = check_country(country, subdivision)
            if problem:
                raise serializers.ValidationError({problem[0]: problem[1]})
        return attrs

    def to_internal_value(self, data):
        if not isinstance(data, Mapping):
            return super().to_internal_value(data)  # 400 "Expected a dictionary", not a 500
        data = data.copy()
        for key in ("country_code", "subdivision"):
            if isinstance(data.get(key), str):
                data[key] = data[key].strip().upper()
        return super().to_internal_value(data)


class HolidayImportSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    kind = serializers.ChoiceField(
        choices=[(k.value, k.label) for k in BLOCKING_KINDS], default=WindowKind.FREEZE
    )
    hardness = serializers.ChoiceField(choices=Hardness.choices, default=Hardness.SOFT)
    allowed_change_types = serializers.ListField(
        child=serializers.ChoiceField(choices=ChangeType.choices), required=False, default=list
    )


class HolidayImportResultSerializer(serializers.Serializer):
    region = serializers.CharField()
    year = serializers.IntegerField()
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    windows = WindowSerializer(many=True, help_text="The windows created by this call.")
    message = serializers.CharField()
