"""``python manage.py rebuild_rollups [--since YYYY-MM-DD]``: rebuild the daily metrics rollups
from the raw history (all of it by default)."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from metrics import rollups


class Command(BaseCommand):
    help = "Rebuild the daily metrics rollups from the deployment and incident history."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="First UTC day to rebuild (YYYY-MM-DD); default all.")

    def handle(self, *args, since=None, **options):
        first = None
        if since:
            try:
                first = date.fromisoformat(since)
            except ValueError as exc:
                raise CommandError(f"--since {since!r} is not a date; use YYYY-MM-DD.") from exc
        written = rollups.rebuild_all(first)
        self.stdout.write(f"{written} rollup rows rebuilt")
