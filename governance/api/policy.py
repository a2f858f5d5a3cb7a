"""``/api/v1/approval-rules/`` (CRUD), ``/api/v1/policy-versions/`` (read) and
``GET /api/v1/releases/{key}/policy/`` (what a release needs, which rules applied and why).

Every rule write publishes a new policy version in the same transaction; a rule
naming a group that does not exist answers 400 with the error on ``approvers``.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import policy
from governance.choices import RiskBand, Touches
from governance.filtersets_policy import ApprovalRuleFilterSet, PolicyVersionFilterSet
from governance.models import ApprovalRule, PolicyVersion
from releasemgr.api.permissions import HasPermission
from releasemgr.api.serializers import ValidatedModelSerializer
from releasemgr.api.viewsets import BaseModelViewSet
from releases.choices import ChangeType
from releases.models import Release


class ApproverSerializer(serializers.Serializer):
    group = serializers.CharField(max_length=150, help_text="A role (group) name.")
    count = serializers.IntegerField(min_value=1, max_value=20)


class ApprovalRuleSerializer(ValidatedModelSerializer):
    change_types = serializers.ListField(
        child=serializers.ChoiceField(choices=ChangeType.choices), required=False
    )
    min_band = serializers.ChoiceField(choices=RiskBand.choices, required=False, allow_blank=True)
    touches = serializers.ListField(
        child=serializers.ChoiceField(choices=Touches.choices), required=False
    )
    customer_facing = serializers.BooleanField(required=False, allow_null=True, default=None)
    approvers = ApproverSerializer(many=True)
    policy_version = serializers.SerializerMethodField(
        help_text="The policy version in force after this rule's last change."
    )

    class Meta:
        model = ApprovalRule
        fields = [
            "id",
            "name",
            "description",
            "position",
            "active",
            "change_types",
            "min_band",
            "touches",
            "customer_facing",
            "approvers",
            "policy_version",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def get_policy_version(self, obj) -> int | None:
        version = self.context.get("version")
        return version.number if version else None

    def validate_approvers(self, value):
        return [{"group": v["group"], "count": v["count"]} for v in value]


class PolicyVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = PolicyVersion
        fields = ["number", "created", "created_by", "note", "rules"]
        read_only_fields = fields


class PolicyVersionDetailSerializer(PolicyVersionSerializer):
    changes = serializers.SerializerMethodField(
        help_text="Rule by rule against the previous version: added, removed or changed fields."
    )

    class Meta(PolicyVersionSerializer.Meta):
        fields = [*PolicyVersionSerializer.Meta.fields, "changes"]
        read_only_fields = fields

    def get_changes(self, obj) -> list[dict]:
        return policy.version_diff(obj)


@extend_schema_view(
    create=extend_schema(
        responses={201: ApprovalRuleSerializer, 400: OpenApiResponse(description="Field errors.")}
    ),
)
class ApprovalRuleViewSet(BaseModelViewSet):
    """Approval rules; each create, update or delete publishes a new policy version."""

    queryset = ApprovalRule.objects.all()
    serializer_class = ApprovalRuleSerializer
    filterset_class = ApprovalRuleFilterSet
    ordering_fields = ["position", "name", "updated"]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["version"] = policy.current_version()
        return context

    def _publish(self, note: str):
        self.published = policy.publish(self.request.user, note)

    def perform_create(self, serializer):
        rule = ApprovalRule(**serializer.validated_data)
        rule.save_with_reason("created via the API", user=self.request.user)
        serializer.instance = rule
        self._publish(f"{self.request.user.username} added “{rule.name}” (API)")

    def perform_update(self, serializer):
        rule = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(rule, name, value)
        rule.save_with_reason("edited via the API", user=self.request.user)
        self._publish(f"{self.request.user.username} edited “{rule.name}” (API)")

    def perform_destroy(self, instance):
        name = instance.name
        instance._change_reason = "deleted via the API"
        instance._history_user = self.request.user
        instance.delete()
        self._publish(f"{self.request.user.username} deleted “{name}” (API)")

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response.data["policy_version"] = self.published.number
        return response

    def update(self, request, *args, **kwargs):
        response = super().update(request, *args, **kwargs)
        response.data["policy_version"] = self.published.number
        return response


class PolicyVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """Published versions of the approval policy, newest first (append-only)."""

    queryset = PolicyVersion.objects.select_related("created_by").order_by("-number")
    serializer_class = PolicyVersionSerializer
    filterset_class = PolicyVersionFilterSet
    lookup_field = "number"
    ordering_fields = ["number"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return PolicyVersionDetailSerializer
        return PolicyVersionSerializer


class RequirementOut(serializers.Serializer):
    group = serializers.CharField()
    count = serializers.IntegerField()
    why = serializers.CharField()
    rules = serializers.ListField(child=serializers.CharField())


class CheckOut(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


class ReleasePolicySerializer(serializers.Serializer):
    release = serializers.CharField()
    change_type = serializers.CharField()
    risk_band = serializers.CharField(allow_null=True)
    touches = serializers.ListField(child=serializers.CharField())
    customer_facing_services = serializers.ListField(child=serializers.CharField())
    frozen = serializers.BooleanField(
        help_text="True once submitted: the requirements were frozen for this round."
    )
    policy_version = serializers.IntegerField(allow_null=True)
    summary = serializers.CharField()
    fallback = serializers.BooleanField()
    standard_change = serializers.DictField(allow_null=True)
    requirements = RequirementOut(many=True)
    rules = CheckOut(many=True, help_text="One entry per active rule: applies or not, and why.")
    approved = serializers.BooleanField(help_text="Are the required approvals in?")
    status = CheckOut(many=True, help_text="Per group: how many approvals, what is missing.")
    may_decide = CheckOut(many=True, allow_null=True, help_text="May the caller approve it now?")


class ReleasePolicyView(APIView):
    permission_classes = [HasPermission.of("releases.view_release")]

    @extend_schema(responses={200: ReleasePolicySerializer})
    def get(self, request, key):
        """What the release needs, the rules that applied and why, and what is still missing."""
        release = get_object_or_404(
            Release.objects.prefetch_related("release_services__service", "scope_items"), key=key
        )
        policy.prime([release])
        body = policy.explain(release).as_dict()
        status = policy.approval_status(release)
        body["approved"] = status.allowed
        body["status"] = [r.as_dict() for r in status.reasons]
        body["may_decide"] = (
            [r.as_dict() for r in policy.may_decide(request.user, release).reasons]
            if release.state == "submitted"
            else None
        )
        return Response(body)


def register(router):
    router.register("approval-rules", ApprovalRuleViewSet)
    router.register("policy-versions", PolicyVersionViewSet)


urlpatterns = [
    path("releases/<releasekey:key>/policy/", ReleasePolicyView.as_view(), name="release_policy"),
]
