"""``python manage.py import_tickets FILE.csv [--user USERNAME]``: import help desk tickets.

Columns: external_id, service, opened_at, subject, text, rating. Every ticket is triaged as it
is imported. A file with a bad row or an already imported ticket is refused whole (exit code
1, each problem with its line number) and nothing is written.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from metrics import triage


class Command(BaseCommand):
    help = "Import support tickets from a CSV file and triage them (all rows or none)."

    def add_arguments(self, parser):
        parser.add_argument(
            "file", help="CSV with external_id,service,opened_at,subject,text,rating"
        )
        parser.add_argument(
            "--user", help="Record the import as this user (default: nobody, as the system)."
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        user = None
        if options.get("user"):
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
        try:
            rows = triage.read_csv(path.read_bytes())
            created = triage.import_tickets(rows, user, source="command")
        except triage.InvalidInput as exc:
            for reason in exc.reasons:
                row = reason.data.get("row")
                where = f"line {row + 1}: " if row else ""
                message = reason.message.split(": ", 1)[1] if row else reason.message
                self.stderr.write(f"{path.name}: {where}{message}")
            raise CommandError("Nothing was imported.") from exc
        counts: dict[str, int] = {}
        for ticket in created:
            counts[ticket.classification] = counts.get(ticket.classification, 0) + 1
        summary = ", ".join(f"{n} {c.replace('_', '-')}" for c, n in sorted(counts.items()))
        self.stdout.write(self.style.SUCCESS(f"Imported {len(created)} tickets: {summary}."))
