"""Pages: my notification settings, the Deliveries page, chat webhooks, webhook subscriptions.

- Notification settings: everyone with a role, for themselves.
- Deliveries (every email/chat delivery, retry a failed one): ``releasemgr.retry_delivery``
  (release managers, admins).
- Chat webhooks and webhook subscriptions: read with the view permission; create, change
  (edit, rotate the secret, send a test event, redeliver) and delete with the model
  permissions (release managers).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import TemplateView

from releasemgr import channels, notifications, webhooks
from releasemgr.decisions import DomainError
from releasemgr.models_notify import (
    Channel,
    ChatFormat,
    ChatWebhook,
    DeliveryStatus,
    NotificationDelivery,
    WebhookDelivery,
    WebhookSubscription,
)
from releasemgr.web import (
    SUBMISSION_FIELD,
    RoleRequiredMixin,
    earlier_submission,
    history_rows,
    new_submission,
    paginate,
    remember_submission,
    render_shown_once,
)

VIEW_NOTIFICATION = "releasemgr.view_notification"
RETRY = "releasemgr.retry_delivery"


# --- my notification settings --------------------------------------------------------------------


class PreferencesView(RoleRequiredMixin, TemplateView):
    """For each kind of notification, the channels I get it on."""

    permission_required = VIEW_NOTIFICATION
    template_name = "notifications/preferences.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = notifications.preferences(self.request.user)
        for row in rows:
            row["cells"] = [(v, label, row["channels"][v]) for v, label in Channel.choices]
        context["rows"] = rows
        context["channels"] = Channel.choices
        context["has_email"] = bool(self.request.user.email)
        return context

    def post(self, request):
        chosen = {
            kind: set(request.POST.getlist(f"channels-{kind}"))
            for kind in request.POST.getlist("kind")
        }
        try:
            changed = notifications.save_preferences(request.user, chosen)
        except ValueError as exc:
            messages.error(request, str(exc))
            context = self.get_context_data()
            return self.render_to_response(context, status=400)
        messages.success(request, f"Notification settings saved ({changed} changed).")
        return redirect("notification_preferences")


# --- deliveries ----------------------------------------------------------------------------------


class DeliveryListView(RoleRequiredMixin, TemplateView):
    """Every email and chat delivery, failed ones first to hand, with a retry button."""

    permission_required = RETRY
    template_name = "notifications/deliveries.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", "")
        channel = self.request.GET.get("channel", "")
        queryset = NotificationDelivery.objects.select_related("notification", "webhook")
        if status in DeliveryStatus.values:
            queryset = queryset.filter(status=status)
        if channel in Channel.values:
            queryset = queryset.filter(channel=channel)
        context.update(
            page=paginate(self.request, queryset),
            status=status,
            channel=channel,
            statuses=DeliveryStatus.choices,
            channels=[c for c in Channel.choices if c[0] != Channel.IN_APP],
            failed=NotificationDelivery.objects.filter(status=DeliveryStatus.FAILED).count(),
        )
        return context


class DeliveryRetryView(RoleRequiredMixin, View):
    permission_required = RETRY

    def post(self, request, pk):
        delivery = get_object_or_404(NotificationDelivery, pk=pk)
        with transaction.atomic():
            if channels.retry_failed(NotificationDelivery, delivery.pk):
                transaction.on_commit(
                    lambda: channels.enqueue_notification_delivery(delivery.pk), robust=True
                )
                messages.success(request, f"Delivery #{delivery.pk} will be tried again.")
            else:
                messages.error(
                    request, f"Delivery #{delivery.pk} has not failed: nothing to retry."
                )
        return redirect(request.POST.get("next") or "notification_deliveries")


# --- chat webhooks -------------------------------------------------------------------------------


class ChatWebhookForm(forms.ModelForm):
    url = forms.CharField(
        max_length=500, label="Incoming webhook URL", help_text="https://hooks.slack.com/… etc."
    )
    kinds = forms.MultipleChoiceField(
        choices=[(k, v.label) for k, v in notifications.KINDS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )

    class Meta:
        model = ChatWebhook
        fields = ["name", "url", "format", "kinds", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, css in (
            ("name", "form-control"),
            ("url", "form-control"),
            ("format", "form-select"),
        ):
            self.fields[name].widget.attrs["class"] = css

    def clean_url(self):
        try:
            return channels.check_url(self.cleaned_data["url"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["url"]) from None


class ChatWebhookListView(RoleRequiredMixin, View):
    permission_required = "releasemgr.view_chatwebhook"
    template_name = "notifications/chat_webhooks.html"

    def _render(self, request, form, status=200):
        return render(
            request,
            self.template_name,
            {
                "hooks": [
                    # Labels, not codes: "Smoke test failed", not smoke_test_failed.
                    (hook, [notifications.kind_label(k) for k in hook.kinds or []])
                    for hook in ChatWebhook.objects.all()
                ],
                "form": form,
                "can_add": request.user.has_perm("releasemgr.add_chatwebhook"),
                "can_delete": request.user.has_perm("releasemgr.delete_chatwebhook"),
                "formats": ChatFormat.choices,
            },
            status=status,
        )

    def get(self, request):
        return self._render(request, ChatWebhookForm())

    def post(self, request):
        if not request.user.has_perm("releasemgr.add_chatwebhook"):
            raise _forbidden()
        form = ChatWebhookForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        hook = form.save(commit=False)
        hook.created_by = request.user
        hook.save_with_reason("chat webhook added", user=request.user)
        messages.success(request, f"Chat webhook {hook.name} added.")
        return redirect("chat_webhook_list")


class ChatWebhookDeleteView(RoleRequiredMixin, View):
    permission_required = "releasemgr.delete_chatwebhook"

    def post(self, request, pk):
        hook = get_object_or_404(ChatWebhook, pk=pk)
        hook.delete()
        messages.success(request, f"Chat webhook {hook.name} removed.")
        return redirect("chat_webhook_list")


def _forbidden():
    from django.core.exceptions import PermissionDenied

    return PermissionDenied("You may not change chat webhooks.")


# --- webhook subscriptions -----------------------------------------------------------------------


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"class": "form-control"}))
    url = forms.CharField(
        max_length=500,
        label="Payload URL",
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )
    events = forms.MultipleChoiceField(
        choices=[(e, f"{e} — {d}") for e, d in webhooks.EVENTS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    active = forms.BooleanField(required=False, initial=True)


def _form_errors(form, exc: ValidationError):
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


class WebhookListView(RoleRequiredMixin, View):
    permission_required = "releasemgr.view_webhooksubscription"
    template_name = "notifications/webhooks.html"

    def _render(self, request, form, status=200):
        return render(
            request,
            self.template_name,
            {
                "subscriptions": WebhookSubscription.objects.all(),
                "form": form,
                "can_add": request.user.has_perm("releasemgr.add_webhooksubscription"),
                "events": webhooks.EVENTS,
                "submission": request.POST.get(SUBMISSION_FIELD) or new_submission(),
            },
            status=status,
        )

    def get(self, request):
        return self._render(request, SubscriptionForm())

    def post(self, request):
        if not request.user.has_perm("releasemgr.add_webhooksubscription"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("You may not add webhook subscriptions.")
        earlier = earlier_submission(request, "webhook")
        if earlier is not None:  # the same form posted again (refresh, double click)
            messages.info(
                request,
                "This subscription was already created by that form; its secret was shown "
                "once. Rotate the secret on this page if it was lost.",
            )
            found = WebhookSubscription.objects.filter(pk=earlier).first()
            return redirect(found or "webhook_list")
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:
                subscription, secret = webhooks.create_subscription(
                    request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                remember_submission(request, "webhook", subscription.pk)
                # The only time the secret is shown: this response, not a redirect.
                return render_shown_once(
                    request,
                    "notifications/webhook_created.html",
                    {"subscription": subscription, "secret": secret},
                    status=201,
                )
        return self._render(request, form, status=400)


def _edit_form(subscription) -> SubscriptionForm:
    return SubscriptionForm(
        initial={
            "name": subscription.name,
            "url": subscription.url,
            "events": subscription.events,
            "active": subscription.active,
        },
        prefix="edit",
    )


class WebhookDetailView(RoleRequiredMixin, TemplateView):
    """A subscription and its delivery log (request, response code and excerpt, duration);
    for release managers: edit, rotate the secret, send a test event; its history."""

    permission_required = "releasemgr.view_webhooksubscription"
    template_name = "notifications/webhook_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        subscription = kwargs.get("subscription") or get_object_or_404(
            WebhookSubscription, pk=kwargs["pk"]
        )
        status = self.request.GET.get("status", "")
        deliveries = subscription.deliveries.all()
        if status in DeliveryStatus.values:
            deliveries = deliveries.filter(status=status)
        can_change = self.request.user.has_perm("releasemgr.change_webhooksubscription")
        context.update(
            subscription=subscription,
            page=paginate(self.request, deliveries),
            status=status,
            statuses=DeliveryStatus.choices,
            can_change=can_change,
            can_delete=self.request.user.has_perm("releasemgr.delete_webhooksubscription"),
            form=kwargs.get("form") or (_edit_form(subscription) if can_change else None),
            submission=new_submission(),
            history=history_rows(subscription),
        )
        return context


class WebhookEditView(RoleRequiredMixin, View):
    """The Edit form of a subscription's page: the create rules; a refusal writes nothing and
    shows the page again with the form open and its errors."""

    permission_required = "releasemgr.change_webhooksubscription"

    def post(self, request, pk):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        form = SubscriptionForm(request.POST, prefix="edit")
        if form.is_valid():
            before = (subscription.name, subscription.url, subscription.events, subscription.active)
            try:
                webhooks.update_subscription(subscription, request.user, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                after = (
                    subscription.name,
                    subscription.url,
                    subscription.events,
                    subscription.active,
                )
                if after == before:
                    messages.info(request, "Nothing changed.")
                else:
                    messages.success(request, f"Subscription {subscription.name} saved.")
                return redirect(subscription)
        subscription.refresh_from_db()
        view = WebhookDetailView(request=request, kwargs={"pk": pk})
        context = view.get_context_data(pk=pk, subscription=subscription, form=form)
        context["edit_open"] = True
        return render(request, WebhookDetailView.template_name, context, status=400)


class WebhookRotateView(RoleRequiredMixin, View):
    """A new signing secret, shown once on the answer (not a redirect, no-store). The form
    carries a one-time nonce: a refresh of the answer re-posts it and rotates nothing."""

    permission_required = "releasemgr.change_webhooksubscription"

    def post(self, request, pk):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        if earlier_submission(request, "webhook-rotate") is not None:
            messages.info(
                request,
                "The secret was already rotated by that form; the new one was shown once. "
                "Rotate again if it is lost.",
            )
            return redirect(subscription)
        secret = webhooks.rotate_secret(subscription, request.user)
        remember_submission(request, "webhook-rotate", subscription.pk)
        return render_shown_once(
            request,
            "notifications/webhook_created.html",
            {"subscription": subscription, "secret": secret, "rotated": True},
        )


class WebhookPingView(RoleRequiredMixin, View):
    """Queue a ``ping`` event to this subscription only; it shows in the delivery log."""

    permission_required = "releasemgr.change_webhooksubscription"

    def post(self, request, pk):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        try:
            with transaction.atomic():
                delivery = webhooks.ping(subscription, request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, f"Test event queued (delivery {delivery.uuid}); it shows below."
            )
        return redirect(subscription)


class WebhookToggleView(RoleRequiredMixin, View):
    permission_required = "releasemgr.change_webhooksubscription"

    def post(self, request, pk):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        webhooks.update_subscription(subscription, request.user, active=not subscription.active)
        state = "active" if subscription.active else "paused"
        messages.success(request, f"{subscription.name} is {state}.")
        return redirect(subscription)


class WebhookDeleteView(RoleRequiredMixin, View):
    permission_required = "releasemgr.delete_webhooksubscription"

    def post(self, request, pk):
        subscription = get_object_or_404(WebhookSubscription, pk=pk)
        subscription.delete()
        messages.success(request, f"Subscription {subscription.name} deleted.")
        return redirect("webhook_list")


class WebhookRedeliverView(RoleRequiredMixin, View):
    permission_required = "releasemgr.change_webhooksubscription"

    def post(self, request, pk, delivery_pk):
        try:
            delivery = WebhookDelivery.objects.select_related("subscription").get(
                pk=delivery_pk, subscription_id=pk
            )
        except WebhookDelivery.DoesNotExist:
            raise Http404("No such delivery.") from None
        with transaction.atomic():
            copy = webhooks.redeliver(delivery)
        messages.success(request, f"Redelivery {copy.uuid} queued.")
        return redirect(delivery.subscription)
