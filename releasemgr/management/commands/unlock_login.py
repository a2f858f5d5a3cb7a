"""``manage.py unlock_login <username>``: lift a sign-in lock-out before it runs out."""

from django.core.management.base import BaseCommand, CommandError

from releasemgr.security import login_lockout, normalise_username, unlock_login


class Command(BaseCommand):
    help = "Lift the sign-in lock-out of a username (failures before now stop counting)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        if not normalise_username(username):
            raise CommandError("Give the username to unlock.")
        was_locked = login_lockout(username).locked
        unlock_login(username)
        state = "unlocked" if was_locked else "was not locked; its failure count is reset"
        self.stdout.write(f"{normalise_username(username)} {state}.")
