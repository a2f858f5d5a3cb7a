"""``GET /api/v1/releases/{key}/strategy-advice/?environment=slug``: which deployment strategy
fits (``releases.strategy.advise``), with the reasons for and against each.

Starting deployments with a strategy and canary steps, and the ``Idempotency-Key`` rules of
``POST /api/v1/deployments/`` and ``.../events/``, live in ``releases.api.views`` and
``releasemgr.idempotency``.
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releases import strategy
from releases.choices import DeploymentStrategy
from releases.models import Release
from scheduling.models import Environment


class CanaryStepSerializer(serializers.Serializer):
    percent = serializers.IntegerField(min_value=1, max_value=100)
    hold_minutes = serializers.IntegerField(min_value=0)


class StrategyReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


class StrategyOptionSerializer(serializers.Serializer):
    strategy = serializers.ChoiceField(choices=DeploymentStrategy.choices)
    feasible = serializers.BooleanField()
    reasons = StrategyReasonSerializer(many=True)


class StrategyAdviceSerializer(serializers.Serializer):
    release = serializers.CharField()
    environment = serializers.CharField()
    recommended = serializers.ChoiceField(choices=DeploymentStrategy.choices)
    risk_band = serializers.CharField()
    risk_source = serializers.CharField(
        help_text="e.g. 'assessed at submission 1' or 'scored now'."
    )
    summary = serializers.CharField()
    canary_steps = CanaryStepSerializer(many=True)
    options = StrategyOptionSerializer(many=True)


class StrategyAdviceView(APIView):
    permission_classes = [HasPermission.of("releases.view_release")]

    @extend_schema(
        parameters=[
            OpenApiParameter("environment", str, required=True, description="Environment slug.")
        ],
        responses={200: StrategyAdviceSerializer},
    )
    def get(self, request, key):
        """Blue-green, canary or rolling for this release in this environment, and why."""
        release = get_object_or_404(Release, key=key)
        slug = request.query_params.get("environment", "").strip()
        if not slug:
            raise serializers.ValidationError(
                {"environment": ["Give the environment slug: ?environment=production."]}
            )
        environment = Environment.objects.filter(slug=slug).first()
        if environment is None:
            raise serializers.ValidationError({"environment": [f"No environment '{slug}'."]})
        advice = strategy.advise(release, environment)
        return Response(
            {"release": release.key, "environment": environment.slug, **advice.as_dict()}
        )


def register(router):
    """No viewsets: the advice is a read-only question about a release."""


urlpatterns = [
    path(
        "releases/<releasekey:key>/strategy-advice/",
        StrategyAdviceView.as_view(),
        name="release-strategy-advice",
    )
]
