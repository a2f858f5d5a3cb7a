from django.apps import apps
from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def sync_roles_after_migrate(sender, **kwargs):
    # Run once, after the last of our apps has migrated.
    if sender.name != "metrics" or not apps.is_installed("metrics"):
        return
    from releasemgr.roles import sync_roles

    sync_roles()
