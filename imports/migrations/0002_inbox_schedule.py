"""The inbox scan in django-celery-beat (editable in the admin): monthly on the 11th at 02:00 Asia/Tokyo,
the night after the clinics' claim deadline (the 10th)."""

from django.db import migrations

TASK = "imports.inbox_scan"
NAME = "受信フォルダの接種実績CSV取込（毎月11日 2:00）"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="2", day_of_week="*", day_of_month="11", month_of_year="*", timezone="Asia/Tokyo"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "crontab": crontab, "enabled": True,
                  "description": "受信フォルダ（IMPORT_INBOX_DIR）のCSVを取り込み、保管したものを保管フォルダへ移します。"},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
