"""``manage.py backup_db``: pg_dump the DATABASE_URL database; prints the file's path."""

from django.core.management.base import BaseCommand, CommandError

from releasemgr import backups


class Command(BaseCommand):
    help = (
        "Back up the PostgreSQL database (pg_dump custom format) into BACKUP_DIR "
        "(var/backups/) as releasemgr-<UTC timestamp>.dump and print its path."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", help="Write the dump here instead of BACKUP_DIR.")

    def handle(self, *args, output_dir=None, **options):
        try:
            path = backups.backup(output_dir)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(path))
