"""``manage.py restore_db FILE``: restore a backup_db archive, then verify the decision log."""

from django.core.management.base import BaseCommand, CommandError

from releasemgr import backups


class Command(BaseCommand):
    help = (
        "Restore a pg_dump custom-format archive into the DATABASE_URL database (everything in "
        "it is replaced, in one transaction), then verify the decision log's hash chain. "
        "A file that is not such an archive is refused and nothing is changed. Exits 1 when "
        "the restore fails or the chain does not verify. Stop the web, worker and beat first."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="A file written by `make backup` (pg_dump -Fc).")

    def handle(self, *args, file, **options):
        try:
            restored = backups.restore(file)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not restored.intact:
            self.stderr.write(restored.describe())
            raise CommandError("The restored decision log does not verify (see above).")
        self.stdout.write(restored.describe())
