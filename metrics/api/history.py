"""``POST /api/v1/import/``: the history import (DESIGN.md "History import") for scripts and
BI tools — the same lines as ``import_history FILE.jsonl``, as a JSON array.

A body with any bad line answers 400 with every error's line number (1-based position in the
array) and writes nothing; a good one answers 200 with created/unchanged counts.
``?dry_run=1`` validates without writing; ``?create_missing=1`` creates unknown services and
environments.
"""

import json

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.history import IMPORT_PERMISSION, ImportResult, LineError, import_lines
from releasemgr.api.permissions import HasPermission

TRUE = ("1", "true", "yes", "on")


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    message = serializers.CharField()


class CountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class ImportResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    written = serializers.BooleanField()
    lines = serializers.IntegerField()
    deployments = CountsSerializer()
    incidents = CountsSerializer()
    commits_created = serializers.IntegerField()
    services_created = serializers.ListField(child=serializers.CharField())
    environments_created = serializers.ListField(child=serializers.CharField())
    errors = ImportErrorSerializer(many=True)


class HistoryImportView(APIView):
    permission_classes = [HasPermission.of(IMPORT_PERMISSION)]

    @extend_schema(
        summary="Import delivery history (deployments and incidents)",
        request={
            "application/json": {
                "type": "array",
                "items": {"type": "object"},
                "description": "One object per line of the JSONL format (DESIGN.md).",
            }
        },
        parameters=[
            OpenApiParameter(
                "create_missing", bool, description="Create unknown services/environments."
            ),
            OpenApiParameter("dry_run", bool, description="Validate only; write nothing."),
            OpenApiParameter(
                "team", str, description="Team of created services (default 'imported')."
            ),
        ],
        responses={
            200: ImportResultSerializer,
            400: OpenApiResponse(ImportResultSerializer, description="Bad lines; nothing written."),
        },
    )
    def post(self, request):
        data = request.data
        if not isinstance(data, list):
            # The same answer shape as a refused file: the body as a whole is "line 0".
            refused = ImportResult(errors=[LineError(0, "Send a JSON array of import lines.")])
            return Response(refused.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        params = request.query_params
        result = import_lines(
            (json.dumps(item) for item in data),
            request.user,
            create_missing=params.get("create_missing", "").lower() in TRUE,
            team=params.get("team") or None,
            dry_run=params.get("dry_run", "").lower() in TRUE,
        )
        code = status.HTTP_200_OK if result.ok else status.HTTP_400_BAD_REQUEST
        return Response(result.as_dict(), status=code)


def register(router):
    """No viewsets: the import is one action."""


urlpatterns = [path("import/", HistoryImportView.as_view(), name="history-import")]
