"""The linkage jobs in django-celery-beat (editable in the admin): inbound poll every 5 minutes, result
purge daily at 03:30 and code acquisition nightly at 02:30 (Asia/Tokyo)."""

from django.db import migrations

POLL = "linkage.inbound_poll"
PURGE = "linkage.result_purge"
CODES = "linkage.code_acquire_missing"


def create_schedules(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_5_minutes, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="情報連携：他団体からの照会の受信と自動応答（5分ごと）",
        defaults={"task": POLL, "interval": every_5_minutes, "enabled": True,
                  "description": "中間サーバーに届いた照会を受信し、許可された照会に自動応答します。"
                                 "自動応答不可の照会は確認待ちにします。"},
    )
    purge_at, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Tokyo"
    )
    PeriodicTask.objects.get_or_create(
        name="情報連携：照会結果の自動削除（毎日 3:30）",
        defaults={"task": PURGE, "crontab": purge_at, "enabled": True,
                  "description": "受領から LINKAGE_RESULT_RETENTION_DAYS 日（既定7日）を過ぎた照会結果を削除し、記録します。"},
    )
    codes_at, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Tokyo"
    )
    PeriodicTask.objects.get_or_create(
        name="情報連携：符号未取得者の符号取得（毎日 2:30）",
        defaults={"task": CODES, "crontab": codes_at, "enabled": True,
                  "description": "情報提供用個人識別符号を持たない宛名について、中間サーバーから符号を取得します。"},
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=[POLL, PURGE, CODES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("linkage", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
