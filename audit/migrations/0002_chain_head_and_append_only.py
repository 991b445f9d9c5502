"""The chain head row, and on PostgreSQL a trigger that makes the audit log append-only.

UPDATE is always refused. DELETE is refused unless the transaction has set
``SET LOCAL koshigaya.audit_purge = 'on'`` — the one sanctioned path, used only by the retention purge
(audit.services.audit_entries_purge), which leaves a checkpoint in the chain. TRUNCATE is refused too,
except on connections opened with ``koshigaya.audit_allow_truncate=on``: only the test settings do that,
because Django's test runner empties every table between transactional tests.
"""

from django.db import migrations

TABLE = "audit_auditlogentry"

FORWARD = f"""
CREATE OR REPLACE FUNCTION koshigaya_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('koshigaya.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'TRUNCATE' AND current_setting('koshigaya.audit_allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit log is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER koshigaya_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION koshigaya_audit_append_only();

CREATE TRIGGER koshigaya_audit_no_truncate
    BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION koshigaya_audit_append_only();
"""

BACKWARD = f"""
DROP TRIGGER IF EXISTS koshigaya_audit_no_truncate ON {TABLE};
DROP TRIGGER IF EXISTS koshigaya_audit_no_update_delete ON {TABLE};
DROP FUNCTION IF EXISTS koshigaya_audit_append_only();
"""


def create_head(apps, schema_editor):
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_seq": 0, "last_hash": "0" * 64})


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def remove_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, remove_trigger),
    ]
