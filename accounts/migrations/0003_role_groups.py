"""The four role groups. Their permissions are kept in line with the catalogs (accounts.roles) after
every migrate, because permissions themselves only exist once post_migrate has run."""

from django.db import migrations

ROLES = ("staff", "clinic", "auditor", "administrator")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
