"""The priority groups the city uses (editable in the admin). 65歳以上 is a rule's age range, not a group."""

from django.db import migrations

GROUPS = [
    ("healthcare", "医療従事者等"),
    ("underlying_condition", "基礎疾患を有する者"),
    ("care_facility", "高齢者施設等の従事者"),
    ("pregnant", "妊婦"),
]


def create_groups(apps, schema_editor):
    PriorityGroup = apps.get_model("eligibility", "PriorityGroup")
    for code, name in GROUPS:
        PriorityGroup.objects.get_or_create(code=code, defaults={"name": name})


def remove_groups(apps, schema_editor):
    apps.get_model("eligibility", "PriorityGroup").objects.filter(code__in=[c for c, _n in GROUPS]).delete()


class Migration(migrations.Migration):
    dependencies = [("eligibility", "0001_initial")]

    operations = [migrations.RunPython(create_groups, remove_groups)]
