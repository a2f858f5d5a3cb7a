"""CommitRecord: the service copied in and ``first_shipped_at`` (lead time from one row).

Existing rows get their service from their deployment record and their first-shipped time
from the first successful production record of that service containing the sha.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Min, OuterRef, Subquery


def fill(apps, schema_editor):
    CommitRecord = apps.get_model("metrics", "CommitRecord")
    DeploymentRecord = apps.get_model("metrics", "DeploymentRecord")
    CommitRecord.objects.update(
        service_id=Subquery(
            DeploymentRecord.objects.filter(pk=OuterRef("deployment_record_id")).values(
                "service_id"
            )[:1]
        )
    )
    first = (
        CommitRecord.objects.filter(
            service_id=OuterRef("service_id"),
            sha=OuterRef("sha"),
            deployment_record__is_production=True,
            deployment_record__status="succeeded",
        )
        .order_by()
        .values("service_id")
        .annotate(first=Min("deployment_record__finished_at"))
        .values("first")
    )
    CommitRecord.objects.update(first_shipped_at=Subquery(first))


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0004_checklisttemplate_qualityweights_rollupday_and_more"),
        ("releases", "0010_historicalservice_domain_service_domain_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="commitrecord",
            name="service",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="releases.service",
            ),
        ),
        migrations.AddField(
            model_name="commitrecord",
            name="first_shipped_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="commitrecord",
            index=models.Index(fields=["service", "sha"], name="commit_service_sha"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
