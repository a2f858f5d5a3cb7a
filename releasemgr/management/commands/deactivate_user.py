"""``manage.py deactivate_user <username>``: stop a person signing in, ending their sessions."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from releasemgr.models_harden import UserSession


class Command(BaseCommand):
    help = (
        "Deactivate a user: their web sessions end at once and their API tokens stop "
        "authenticating (the tokens stay listed, not revoked, for the audit trail)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {username!r} is already inactive.")
        sessions = UserSession.objects.filter(user_pk=str(user.pk)).count()
        user.is_active = False
        # save(), not update(): the post_save signal ends the sessions (releasemgr.models_harden).
        user.save(update_fields=["is_active"])
        self.stdout.write(f"Deactivated {username}; ended {sessions} session(s).")
