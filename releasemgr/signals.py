from django.apps import apps
from django.db.models.signals import post_migrate
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record


@receiver(post_migrate)
def sync_roles_after_migrate(sender, **kwargs):
    # Run once, after the last of our apps has migrated.
    if sender.name != "metrics" or not apps.is_installed("metrics"):
        return
    from releasemgr.roles import sync_roles

    sync_roles()


@receiver(pre_create_historical_record)
def record_token_on_history(sender, history_instance, **kwargs):
    """Mark history rows written during a token-authenticated API request with the token."""
    request = getattr(HistoricalRecords.context, "request", None)
    token = getattr(request, "api_token", None) if request is not None else None
    if token is not None and hasattr(history_instance, "history_via"):
        history_instance.history_via = f"API token '{token.name}' ({token.prefix}…)"[:120]
