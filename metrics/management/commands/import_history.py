"""``python manage.py import_history FILE.jsonl [--create-missing] [--team SLUG] [--dry-run]``

Reads the file line by line (memory-bounded) and imports it in one transaction; any bad line
refuses the whole file, printing every error with its line number (exit status 1).
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from metrics.history import import_lines


class Command(BaseCommand):
    help = "Import delivery history (deployments and incidents) from a JSON-lines file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON-lines file; '-' reads standard input.")
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="Create unknown services and environments instead of refusing the line.",
        )
        parser.add_argument("--team", help="Team (slug) of created services (default 'imported').")
        parser.add_argument("--dry-run", action="store_true", help="Validate only; write nothing.")

    def handle(self, *args, **options):
        path = options["file"]
        try:
            stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        with stream:
            result = import_lines(
                stream,
                None,
                create_missing=options["create_missing"],
                team=options["team"],
                dry_run=options["dry_run"],
            )
        for error in result.errors:
            self.stderr.write(f"line {error.line}: {error.message}")
        if result.services_created:
            self.stdout.write(f"services created: {', '.join(result.services_created)}")
        if result.environments_created:
            self.stdout.write(f"environments created: {', '.join(result.environments_created)}")
        if not result.ok:
            raise CommandError(result.summary())
        self.stdout.write(result.summary())
