"""The monthly retention job in django-celery-beat (editable in the admin): the 1st of every month at
03:00 Asia/Tokyo, a dry-run report to approve (and the run of RETENTION_AUTO_CLASSES)."""

from django.db import migrations

TASK = "retention.monthly"
NAME = "保存期間を過ぎたデータの消去報告（毎月1日 3:00）"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="*", day_of_month="1", month_of_year="*", timezone="Asia/Tokyo"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={"task": TASK, "crontab": crontab, "enabled": True,
                  "description": "保存期間を過ぎたデータを区分ごとに抽出し、管理者の承認を待つ消去報告を作ります。"
                                 "RETENTION_AUTO_CLASSES の区分は承認なしで消去します。"},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("retention", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
