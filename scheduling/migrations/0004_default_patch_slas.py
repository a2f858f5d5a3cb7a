from django.db import migrations

DEFAULTS = {"critical": 48, "high": 168, "medium": 720, "low": 2160}


def add_defaults(apps, schema_editor):
    Policy = apps.get_model("scheduling", "PatchSlaPolicy")
    for severity, hours in DEFAULTS.items():
        Policy.objects.get_or_create(severity=severity, defaults={"hours": hours})


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0003_patchslapolicy_region_alter_freezewindow_options_and_more")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
