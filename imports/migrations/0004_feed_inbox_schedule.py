"""The resident change feed's inbox scan in django-celery-beat (editable in the admin): daily at 01:30
Asia/Tokyo, after the resident-records system's nightly export."""

from django.db import migrations

TASK = "imports.feed_inbox_scan"
NAME = "受信フォルダの異動データ取込（毎日 1:30）"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Tokyo"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "crontab": crontab, "enabled": True,
                  "description": "受信フォルダ（FEED_INBOX_DIR）の異動データを取り込み、保管したものを保管フォルダへ移します。"},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0003_resident_feed"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
