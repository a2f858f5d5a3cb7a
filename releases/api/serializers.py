from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.choices import Touches
from governance.models import ChangeModel
from releasemgr.api.serializers import UsernameField, ValidatedModelSerializer
from releases import lifecycle
from releases.choices import EventType
from releases.models import (
    Deployment,
    DeploymentEvent,
    GateDecision,
    Release,
    ReleaseService,
    ScopeItem,
    Service,
    ServiceDependency,
    Team,
)
from releases.validators import validate_version
from scheduling.models import Environment, Region


class TeamSerializer(ValidatedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:team-detail", lookup_field="slug")

    class Meta:
        model = Team
        fields = ["url", "slug", "name", "description", "created", "updated"]


class DependencyBriefSerializer(serializers.ModelSerializer):
    depends_on = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ServiceDependency
        fields = ["depends_on", "kind", "version_constraint"]


class ServiceSerializer(ValidatedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:service-detail", lookup_field="slug")
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    owners = UsernameField(many=True, required=False)
    depends_on = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        many=True,
        required=False,
        source="dependencies",
        help_text="Slugs of the services this one depends on (new links are runtime links).",
    )
    dependency_details = DependencyBriefSerializer(
        source="dependency_links", many=True, read_only=True
    )
    sensitive_areas = serializers.ListField(
        child=serializers.ChoiceField(choices=Touches.choices),
        required=False,
        help_text="Sensitive areas the service implements; a release shipping it touches them.",
    )

    class Meta:
        model = Service
        fields = [
            "url",
            "slug",
            "name",
            "team",
            "tier",
            "customer_facing",
            "ha_required",
            "recovery_sla_minutes",
            "risk_profile",
            "sensitive_areas",
            "description",
            "owners",
            "depends_on",
            "dependency_details",
            "created",
            "updated",
        ]
        skip_model_validation = ("owners", "dependencies")

    def validate_depends_on(self, value):
        if self.instance is not None and self.instance in value:
            raise serializers.ValidationError("A service cannot depend on itself.")
        return value

    @transaction.atomic
    def create(self, validated_data):
        deps = validated_data.pop("dependencies", [])
        owners = validated_data.pop("owners", [])
        service = Service.objects.create(**validated_data)
        service.owners.set(owners)
        self._set_dependencies(service, deps)
        return service

    @transaction.atomic
    def update(self, instance, validated_data):
        deps = validated_data.pop("dependencies", None)
        owners = validated_data.pop("owners", None)
        instance = super().update(instance, validated_data)
        if owners is not None:
            instance.owners.set(owners)
        if deps is not None:
            self._set_dependencies(instance, deps)
        return instance

    def _set_dependencies(self, service, deps):
        wanted = {d.pk for d in deps}
        for link in service.dependency_links.exclude(depends_on__in=wanted):
            link.delete()
        existing = set(service.dependency_links.values_list("depends_on_id", flat=True))
        for dep in deps:
            if dep.pk not in existing:
                ServiceDependency.objects.create(service=service, depends_on=dep)


class ServiceDependencySerializer(ValidatedModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    depends_on = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())

    class Meta:
        model = ServiceDependency
        fields = ["id", "service", "depends_on", "kind", "version_constraint", "created", "updated"]


class ReleaseServiceSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    version = serializers.CharField(max_length=50, validators=[validate_version])

    class Meta:
        model = ReleaseService
        fields = ["service", "version"]


class ReleaseSerializer(ValidatedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:release-detail", lookup_field="key")
    services = ReleaseServiceSerializer(
        source="release_services",
        many=True,
        required=False,
        help_text="The services this release ships and the version each is brought to.",
    )
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    owner = UsernameField(required=False, allow_null=True)
    web_url = serializers.SerializerMethodField()
    change_model = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=ChangeModel.objects.all(),
        required=False,
        allow_null=True,
        help_text="Slug of the standard change model a standard change follows.",
    )
    touches = serializers.ListField(
        child=serializers.ChoiceField(choices=Touches.choices),
        required=False,
        help_text="Sensitive areas the release changes (the policy matches on them).",
    )

    class Meta:
        model = Release
        fields = [
            "url",
            "web_url",
            "key",
            "name",
            "version",
            "kind",
            "change_type",
            "state",
            "services",
            "planned_start",
            "planned_end",
            "deadline",
            "compliance_deadline",
            "author",
            "owner",
            "description",
            "rollback_plan",
            "rollback_tested",
            "planned_strategy",
            "change_model",
            "touches",
            "approval_round",
            "created",
            "updated",
        ]
        read_only_fields = ["key", "state", "approval_round"]
        skip_model_validation = ("release_services",)

    @extend_schema_field(serializers.CharField())
    def get_web_url(self, obj) -> str:
        return obj.get_absolute_url()

    def validate_services(self, value):
        slugs = [item["service"].slug for item in value]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise serializers.ValidationError(
                f"Each service may appear once; repeated: {', '.join(dupes)}."
            )
        return value

    @transaction.atomic
    def create(self, validated_data):
        services = validated_data.pop("release_services", [])
        user = self.context["request"].user
        validated_data.setdefault("owner", user)
        release = Release(author=user, **validated_data)
        release.save_with_reason("created", user=user)
        self._set_services(release, services)
        return release

    @transaction.atomic
    def update(self, instance, validated_data):
        lifecycle.ensure_editable(instance)
        services = validated_data.pop("release_services", None)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        instance.save_with_reason("edited", user=self.context["request"].user)
        if services is not None:
            self._set_services(instance, services)
        return instance

    def _set_services(self, release, services):
        wanted = {item["service"].pk: item["version"] for item in services}
        for link in release.release_services.all():
            if link.service_id not in wanted:
                link.delete()
            elif link.version != wanted[link.service_id]:
                link.version = wanted.pop(link.service_id)
                link.save()
            else:
                wanted.pop(link.service_id)
        for service_id, version in wanted.items():
            ReleaseService.objects.create(release=release, service_id=service_id, version=version)


class TransitionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ScopeItemSerializer(ValidatedModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    contributor = UsernameField(required=False, allow_null=True)

    class Meta:
        model = ScopeItem
        fields = [
            "id",
            "release",
            "title",
            "kind",
            "decision",
            "rationale",
            "reference",
            "service",
            "contributor",
            "created",
            "updated",
        ]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        release = attrs.get("release") or self.instance.release
        if (
            self.instance is not None
            and "release" in attrs
            and attrs["release"] != self.instance.release
        ):
            raise serializers.ValidationError(
                {"release": "A scope item cannot move to another release."}
            )
        lifecycle.ensure_editable(release)
        return attrs


class DeploymentEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = DeploymentEvent
        fields = ["id", "type", "target", "status", "message", "actor", "created"]
        read_only_fields = ["id", "actor", "created"]


MAX_COMMITS = 1000
SHA = r"^[0-9a-fA-F]{7,64}$"
SHA_MESSAGE = "Enter a git commit SHA (7-64 hex digits)."


class DeploymentCommitSerializer(serializers.Serializer):
    sha = serializers.RegexField(SHA, error_messages={"invalid": SHA_MESSAGE})
    authored_at = serializers.DateTimeField()
    service = serializers.SlugField(
        required=False, allow_blank=True, help_text="A service of the release (slug)."
    )


class DeploymentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:deployment-detail")
    release = serializers.SlugRelatedField(slug_field="key", read_only=True)
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    gate_decision = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    # Plain text out: empty when none was given, and stored redacted (so not always a URI).
    pipeline_url = serializers.CharField(
        read_only=True, help_text="The pipeline run, if given (redacted); empty otherwise."
    )

    commits = DeploymentCommitSerializer(many=True, read_only=True)

    class Meta:
        model = Deployment
        fields = [
            "url",
            "id",
            "release",
            "environment",
            "region",
            "status",
            "strategy",
            "pipeline_url",
            "commit",
            "commits",
            "started_by",
            "started_at",
            "finished_at",
            "gate_decision",
            "canary_steps",
            "advised_strategy",
            "advice_overridden",
            "advice_reasons",
            "change_record",
        ]
        read_only_fields = fields


class DeploymentCreateSerializer(serializers.Serializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all()
    )
    strategy = serializers.ChoiceField(
        choices=Deployment._meta.get_field("strategy").choices, required=False
    )
    pipeline_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    commit = serializers.RegexField(
        SHA, required=False, allow_blank=True, error_messages={"invalid": SHA_MESSAGE}
    )
    commits = DeploymentCommitSerializer(
        many=True,
        required=False,
        max_length=MAX_COMMITS,
        help_text="The commits this deployment ships, for the lead time for changes (DORA). "
        "Without `service`, a commit counts for every service of the release.",
    )
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        required=False,
        allow_null=True,
        help_text="Region code; regional go-live rules and regional windows apply to it.",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Why deploying inside a soft window is acceptable (soft windows need one).",
    )
    canary_steps = serializers.JSONField(
        required=False,
        help_text='Canary only: [{"percent": 5, "hold_minutes": 30}, ..., {"percent": 100, '
        '"hold_minutes": 0}] (ascending, ending at 100). Default: from the risk band.',
    )

    def validate(self, attrs):
        commits = attrs.get("commits") or []
        named = {c["service"] for c in commits if c.get("service")}
        if named:
            shipped = set(attrs["release"].release_services.values_list("service__slug", flat=True))
            unknown = sorted(named - shipped)
            if unknown:
                raise serializers.ValidationError(
                    {
                        "commits": [
                            f"{', '.join(unknown)} is not a service of release "
                            f"{attrs['release'].key} (it ships {', '.join(sorted(shipped))})."
                        ]
                    }
                )
        return attrs

    def validate_canary_steps(self, value):
        from releases.strategy import InvalidCanarySteps, validate_canary_steps

        if value in (None, []):
            return []
        try:
            return validate_canary_steps(value)
        except InvalidCanarySteps as exc:
            raise serializers.ValidationError(exc.message) from None


class DeploymentEventCreateSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=EventType.choices)
    target = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="node: the target's name; plan: every target's name (comma-separated); "
        "smoke: the test's name. See releases.rollout for the order rules.",
    )
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="node ok: the version the target now runs (default: the release's version).",
    )
    status = serializers.ChoiceField(
        choices=DeploymentEvent._meta.get_field("status").choices, required=False
    )
    message = serializers.CharField(required=False, allow_blank=True, max_length=20000)


class GateRequestSerializer(serializers.Serializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    version = serializers.CharField(max_length=50, validators=[validate_version])
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all()
    )
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        required=False,
        allow_null=True,
        help_text="Region code; regional go-live rules and regional windows apply to it.",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text="Why deploying inside a soft window is acceptable (soft windows need one).",
    )


class GateCheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField(required=False)


class GateResponseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["allowed", "waiting", "prevented"])
    allowed = serializers.BooleanField()
    decision_id = serializers.CharField()
    release = serializers.CharField(allow_null=True)
    checks = GateCheckSerializer(many=True)
    retry_after = serializers.DateTimeField(allow_null=True)


class GateDecisionSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    checks = GateCheckSerializer(many=True, read_only=True)

    class Meta:
        model = GateDecision
        fields = [
            "id",
            "created",
            "requested_by",
            "service_slug",
            "version",
            "environment_slug",
            "region",
            "release",
            "status",
            "allowed",
            "checks",
            "retry_after",
            "purpose",
        ]
        read_only_fields = fields


class ImpactRowSerializer(serializers.Serializer):
    service = serializers.CharField()
    name = serializers.CharField()
    team = serializers.CharField()
    depth = serializers.IntegerField()
    path = serializers.ListField(child=serializers.CharField())
    via = serializers.CharField()
    customer_facing = serializers.BooleanField()
    tier = serializers.IntegerField()
    recovery_sla_minutes = serializers.IntegerField()


class ImpactSerializer(serializers.Serializer):
    classification = serializers.ChoiceField(choices=["single_application", "multi_system"])
    changed = ImpactRowSerializer(many=True)
    affected = ImpactRowSerializer(many=True)
    reasons = GateCheckSerializer(many=True)
