from django.urls import path

from releasemgr import views_notifications as views
from releasemgr import views_webhooks

urlpatterns = [
    path("notifications/", views.NotificationListView.as_view(), name="notification_list"),
    path(
        "notifications/read-all/",
        views.NotificationReadAllView.as_view(),
        name="notification_read_all",
    ),
    path(
        "notifications/<int:pk>/read/",
        views.NotificationReadView.as_view(),
        name="notification_read",
    ),
    path(
        "notifications/settings/",
        views_webhooks.PreferencesView.as_view(),
        name="notification_preferences",
    ),
    path(
        "notifications/deliveries/",
        views_webhooks.DeliveryListView.as_view(),
        name="notification_deliveries",
    ),
    path(
        "notifications/deliveries/<int:pk>/retry/",
        views_webhooks.DeliveryRetryView.as_view(),
        name="notification_delivery_retry",
    ),
    path(
        "notifications/chat-webhooks/",
        views_webhooks.ChatWebhookListView.as_view(),
        name="chat_webhook_list",
    ),
    path(
        "notifications/chat-webhooks/<int:pk>/delete/",
        views_webhooks.ChatWebhookDeleteView.as_view(),
        name="chat_webhook_delete",
    ),
    path("webhooks/", views_webhooks.WebhookListView.as_view(), name="webhook_list"),
    path("webhooks/<int:pk>/", views_webhooks.WebhookDetailView.as_view(), name="webhook_detail"),
    path(
        "webhooks/<int:pk>/toggle/",
        views_webhooks.WebhookToggleView.as_view(),
        name="webhook_toggle",
    ),
    path(
        "webhooks/<int:pk>/edit/",
        views_webhooks.WebhookEditView.as_view(),
        name="webhook_edit",
    ),
    path(
        "webhooks/<int:pk>/rotate-secret/",
        views_webhooks.WebhookRotateView.as_view(),
        name="webhook_rotate",
    ),
    path(
        "webhooks/<int:pk>/ping/",
        views_webhooks.WebhookPingView.as_view(),
        name="webhook_ping",
    ),
    path(
        "webhooks/<int:pk>/delete/",
        views_webhooks.WebhookDeleteView.as_view(),
        name="webhook_delete",
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        views_webhooks.WebhookRedeliverView.as_view(),
        name="webhook_redeliver",
    ),
]
