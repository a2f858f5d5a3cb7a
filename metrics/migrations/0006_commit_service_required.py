"""CommitRecord.service required, once 0005 has filled it (a migration of its own: on
PostgreSQL the fill's deferred foreign-key checks must be committed before ALTER TABLE)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("metrics", "0005_commit_first_shipped")]

    operations = [
        migrations.AlterField(
            model_name="commitrecord",
            name="service",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="releases.service",
            ),
        ),
    ]
