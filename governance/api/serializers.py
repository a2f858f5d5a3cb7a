from rest_framework import serializers

from governance.models import Approval


class ApprovalSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", read_only=True)
    approver = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Approval
        fields = ["id", "release", "approver", "decision", "comment", "role", "round", "created"]
        read_only_fields = fields
