"""``manage.py issue_token <username> [--name NAME]``: print a new API key and nothing else."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from releasemgr.models import ApiToken


class Command(BaseCommand):
    help = (
        "Issue an API token for a user or service account and print the key (only the key, "
        "so scripts can capture it). The key is not stored and cannot be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--name", default="issued from the command line", help="What the token is for."
        )

    def handle(self, *args, username, name, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; activate it first.")
        name = name.strip()
        if not name:
            raise CommandError("--name must not be empty.")
        _token, key = ApiToken.issue(user, name)
        self.stdout.write(key)
