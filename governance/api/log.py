"""``/api/v1/decision-log/``: the hash-chained decision log, read-only, and its verification.

Entries are identified by ``sequence``. ``GET .../verify/`` answers like
``manage.py verify_decision_log --json``.
"""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from governance import decision_log
from governance.choices import DecisionKind
from governance.filtersets_log import DecisionRecordFilterSet
from governance.models import DecisionRecord


class DecisionReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField(required=False)


class DecisionRecordSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=DecisionKind.choices)
    actor = serializers.CharField(source="actor_name", help_text="Username; empty for the system.")
    release = serializers.CharField(source="release_key", help_text="Release key, or empty.")
    reasons = DecisionReasonSerializer(many=True)
    data = serializers.DictField()

    class Meta:
        model = DecisionRecord
        fields = [
            "sequence",
            "recorded_at",
            "kind",
            "outcome",
            "summary",
            "actor",
            "release",
            "subject",
            "reasons",
            "data",
            "previous_hash",
            "entry_hash",
        ]
        read_only_fields = fields


class ProblemSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    code = serializers.CharField(
        help_text="missing, broken_link, altered, truncated or head_missing."
    )
    message = serializers.CharField()


class VerificationSerializer(serializers.Serializer):
    intact = serializers.BooleanField()
    entries = serializers.IntegerField()
    checked_at = serializers.DateTimeField()
    first_break = ProblemSerializer(allow_null=True)
    problems = ProblemSerializer(many=True)


class DecisionRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """Every decision as it was taken, newest first; each entry carries the previous
    entry's hash, so tampering in the database shows up in ``verify``."""

    queryset = DecisionRecord.objects.all()
    serializer_class = DecisionRecordSerializer
    filterset_class = DecisionRecordFilterSet
    lookup_field = "sequence"
    lookup_value_regex = r"\d+"
    ordering_fields = ["sequence", "recorded_at"]
    ordering = ["-sequence"]

    @extend_schema(responses={200: VerificationSerializer}, filters=False)
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def verify(self, request):
        """Recompute the chain: intact, or every entry that does not fit and why."""
        return Response(decision_log.verify().as_dict())


def register(router):
    router.register("decision-log", DecisionRecordViewSet)


urlpatterns = []
