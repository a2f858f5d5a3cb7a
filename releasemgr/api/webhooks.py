"""Outbound webhook subscriptions for integrators (``releasemgr.webhooks``).

- ``/api/v1/webhooks/``: list, create, read, change, delete subscriptions (release managers
  write; every role reads). The signing ``secret`` is in the create response only; afterwards
  ``secret_hint`` shows its last characters.
- ``GET /api/v1/webhooks/{id}/deliveries/``: the delivery log (status, response code, excerpt,
  duration, attempts), newest first.
- ``POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/``: send a delivery's body
  again as a new delivery.
- ``POST /api/v1/webhooks/{id}/rotate-secret/``: a new signing secret, in that answer only.
- ``POST /api/v1/webhooks/{id}/ping/``: queue a ``ping`` test event to this subscription.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from releasemgr import webhooks
from releasemgr.api.viewsets import BaseModelViewSet
from releasemgr.models_notify import DeliveryStatus, WebhookDelivery, WebhookSubscription


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    url = serializers.CharField(max_length=500, help_text="http:// or https:// only.")
    events = serializers.ListField(
        child=serializers.CharField(max_length=50),
        help_text="Any of: " + ", ".join(webhooks.EVENTS) + ".",
    )
    secret_hint = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "events", "active", "secret_hint", "created", "updated"]
        read_only_fields = ["id", "secret_hint", "created", "updated"]

    def validate(self, attrs):
        instance = self.instance
        try:
            webhooks.clean(
                attrs.get("name", getattr(instance, "name", "")),
                attrs.get("url", getattr(instance, "url", "")),
                attrs.get("events", getattr(instance, "events", [])),
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def create(self, validated_data):
        subscription, _secret = webhooks.create_subscription(
            self.context["request"].user, **validated_data
        )
        return subscription

    def update(self, instance, validated_data):
        return webhooks.update_subscription(
            instance, self.context["request"].user, **validated_data
        )


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret: shown in this response only."
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookSubscriptionSerializer.Meta.read_only_fields, "secret"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, read_only=True)
    request_body = serializers.CharField(source="body", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "uuid",
            "event",
            "status",
            "attempts",
            "attempt_limit",
            "next_attempt_at",
            "sent_at",
            "response_code",
            "response_excerpt",
            "duration_ms",
            "last_error",
            "request_body",
            "redelivery_of",
            "created",
        ]
        read_only_fields = fields


class WebhookSubscriptionViewSet(BaseModelViewSet):
    """Outbound webhook subscriptions: a URL, the events it receives, a signing secret."""

    queryset = WebhookSubscription.objects.all()
    serializer_class = WebhookSubscriptionSerializer
    filter_backends: list = []

    def required_permission(self):
        if getattr(self, "action", None) in ("redeliver", "rotate_secret", "ping"):
            return "releasemgr.change_webhooksubscription"
        return None

    @extend_schema(responses={201: WebhookSubscriptionCreatedSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = serializer.save()
        data = WebhookSubscriptionCreatedSerializer(subscription).data
        data["secret"] = subscription.secret
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        instance.delete()

    @extend_schema(
        responses=WebhookDeliverySerializer(many=True),
        parameters=[
            OpenApiParameter("status", str, enum=DeliveryStatus.values, required=False),
        ],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        """The subscription's deliveries, newest first (``?status=failed`` to narrow)."""
        subscription = self.get_object()
        queryset = subscription.deliveries.all()
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in DeliveryStatus.values:
                raise serializers.ValidationError(
                    {"status": [f"Choose one of {', '.join(DeliveryStatus.values)}."]}
                )
            queryset = queryset.filter(status=wanted)
        page = self.paginate_queryset(queryset)
        data = WebhookDeliverySerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(request=None, responses={201: WebhookDeliverySerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]+)/redeliver",
    )
    def redeliver(self, request, pk=None, delivery_id=None):
        """Send this delivery's body again, as a new delivery with a new id."""
        subscription = self.get_object()
        delivery = get_object_or_404(WebhookDelivery, pk=delivery_id, subscription=subscription)
        copy = webhooks.redeliver(delivery)
        return Response(WebhookDeliverySerializer(copy).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: WebhookSubscriptionCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret: in this answer only (``secret``). Every attempt from now on,
        retries of earlier deliveries included, is signed with it."""
        subscription = self.get_object()
        secret = webhooks.rotate_secret(subscription, request.user)
        data = WebhookSubscriptionCreatedSerializer(subscription).data
        data["secret"] = secret
        response = Response(data, status=status.HTTP_200_OK)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(request=None, responses={201: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        """Queue a ``ping`` event to this subscription only (409 when it is paused); the
        answer is the new delivery, which shows in its delivery log."""
        subscription = self.get_object()
        delivery = webhooks.ping(subscription, request.user)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)


def register(router) -> None:
    router.register("webhooks", WebhookSubscriptionViewSet, basename="webhooksubscription")


urlpatterns: list = []
