"""``/api/v1/metrics/policy-suggestions/``: adaptive approval thresholds — suggestions to relax or
tighten the approval policy per team or domain, with their evidence; ``POST .../{id}/apply/``
and ``.../{id}/dismiss/`` with ``{reason}`` (compliance officers); ``POST .../refresh/``
recomputes them from the figures. Rules in ``metrics.adaptive_policy``."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from metrics import adaptive_policy
from metrics.filtersets_adaptive import PolicySuggestionFilterSet
from metrics.models import PolicySuggestion
from metrics.models.adaptive import SuggestionDirection, SuggestionStatus
from scheduling.api.exceptions import RefusalSerializer


class PolicySuggestionSerializer(serializers.ModelSerializer):
    direction = serializers.ChoiceField(choices=SuggestionDirection.choices, read_only=True)
    status = serializers.ChoiceField(choices=SuggestionStatus.choices, read_only=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = PolicySuggestion
        fields = [
            "id",
            "scope",
            "direction",
            "status",
            "summary",
            "evidence",
            "change",
            "decided_by",
            "decided_at",
            "decision_reason",
            "policy_version",
            "created",
            "updated",
        ]
        read_only_fields = fields


class SuggestionDecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class PolicySuggestionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Suggestions to relax or tighten approvals for a team or domain, from its figures."""

    queryset = PolicySuggestion.objects.select_related("decided_by")
    serializer_class = PolicySuggestionSerializer
    filterset_class = PolicySuggestionFilterSet
    ordering_fields = ["created", "updated"]

    def required_permission(self):
        if self.action in ("apply", "dismiss", "refresh"):
            return adaptive_policy.DECIDE_PERMISSION
        return None

    def _decide(self, request, func):
        body = SuggestionDecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = func(self.get_object(), request.user, body.validated_data["reason"])
        return Response(self.get_serializer(row).data)

    @extend_schema(
        request=SuggestionDecisionSerializer,
        responses={
            200: PolicySuggestionSerializer,
            400: OpenApiResponse(description="No reason given; nothing written."),
            403: OpenApiResponse(RefusalSerializer, description="Not a policy editor."),
            409: OpenApiResponse(description="Already decided, or nothing to change."),
        },
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        """Change the approval rules (a new policy version) and log the decision."""
        return self._decide(request, adaptive_policy.apply)

    @extend_schema(
        request=SuggestionDecisionSerializer, responses={200: PolicySuggestionSerializer}
    )
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        """Dismiss with a reason (logged)."""
        return self._decide(request, adaptive_policy.dismiss)

    @extend_schema(request=None, responses={200: PolicySuggestionSerializer(many=True)})
    @action(detail=False, methods=["post"], pagination_class=None)
    def refresh(self, request):
        """Recompute the suggestions from the figures of every team and domain."""
        rows = adaptive_policy.refresh()
        return Response(self.get_serializer(rows, many=True).data)


def register(router):
    router.register("metrics/policy-suggestions", PolicySuggestionViewSet)


urlpatterns: list = []
