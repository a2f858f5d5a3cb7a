"""``python manage.py verify_decision_log [--json]``: is the decision log's hash chain intact?

Exit code 0 when intact, 1 when broken (for cron jobs and CI); ``--json`` prints the same
result as ``GET /api/v1/decision-log/verify/``.
"""

import json
import sys

from django.core.management.base import BaseCommand

from governance import decision_log


class Command(BaseCommand):
    help = "Verify the decision log's hash chain; exit code 0 if intact, 1 if broken."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        result = decision_log.verify()
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        elif result.intact:
            self.stdout.write(
                self.style.SUCCESS(f"Decision log intact: {result.entries} entries verified.")
            )
        else:
            self.stdout.write(
                self.style.ERROR(
                    f"Decision log BROKEN: {len(result.problems)} problem(s) in "
                    f"{result.entries} entries; first at #{result.first_break['sequence']}."
                )
            )
            for problem in result.problems:
                self.stdout.write(
                    f"  #{problem['sequence']} {problem['code']}: {problem['message']}"
                )
        if not result.intact:
            sys.exit(1)
