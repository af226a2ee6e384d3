"""PostgreSQL refuses UPDATE, DELETE and TRUNCATE on the activity log itself; SQLite relies on the ORM.

The one way to delete is activitylog_purge(cutoff), a SECURITY DEFINER function owned by the tables'
owner: it deletes only the oldest entries (a prefix of the chain, all older than the cutoff, never a
cutoff in the future), records the anchor that the chain restarts from, and nothing else. The trigger
lets a DELETE through only when that function opened the path for those ids in this transaction *and*
the statement runs as the tables' owner, so a role that does not own the tables cannot fake the path by
setting the same variable. EXECUTE on the function is revoked from PUBLIC: grant it only to the role that
runs `manage.py purge_activity_log` (see the README's production section).
"""

from django.db import migrations

from activitylog.chain import LOCK_KEY

ENTRIES = "activitylog_activitylogentry"
ANCHORS = "activitylog_activityloganchor"

INSTALL = """
CREATE FUNCTION {schema}.activitylog_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = '{entries}' THEN
        IF OLD.id <= coalesce(nullif(current_setting('activitylog.purge_through', true), '')::bigint, 0)
           AND current_user = (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = TG_RELID) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the activity log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Old entries are removed only by manage.py purge_activity_log.';
END
$$;

CREATE TRIGGER activitylog_no_update_delete BEFORE UPDATE OR DELETE ON {schema}.{entries}
    FOR EACH ROW EXECUTE FUNCTION {schema}.activitylog_refuse_change();
CREATE TRIGGER activitylog_no_truncate BEFORE TRUNCATE ON {schema}.{entries}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.activitylog_refuse_change();
CREATE TRIGGER activitylog_no_update_delete BEFORE UPDATE OR DELETE ON {schema}.{anchors}
    FOR EACH ROW EXECUTE FUNCTION {schema}.activitylog_refuse_change();
CREATE TRIGGER activitylog_no_truncate BEFORE TRUNCATE ON {schema}.{anchors}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.activitylog_refuse_change();

CREATE FUNCTION {schema}.activitylog_purge(cutoff timestamptz)
    RETURNS TABLE (purged bigint, last_id bigint, last_hash varchar)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    first_kept bigint;
BEGIN
    IF cutoff IS NULL OR cutoff > clock_timestamp() THEN
        RAISE EXCEPTION 'purge cutoff % is not in the past', cutoff USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- The same lock as every writer: the chain does not move while its start is cut.
    PERFORM pg_advisory_xact_lock({lock_key});
    SELECT min(e.id) INTO first_kept FROM {schema}.{entries} e WHERE e.occurred_at >= cutoff;
    SELECT e.id, e.entry_hash INTO last_id, last_hash FROM {schema}.{entries} e
        WHERE first_kept IS NULL OR e.id < first_kept ORDER BY e.id DESC LIMIT 1;
    IF last_id IS NULL THEN
        purged := 0;
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM set_config('activitylog.purge_through', last_id::text, true);
    DELETE FROM {schema}.{entries} e WHERE e.id <= last_id;
    GET DIAGNOSTICS purged = ROW_COUNT;
    PERFORM set_config('activitylog.purge_through', '', true);
    INSERT INTO {schema}.{anchors} (purged_at, cutoff, last_purged_id, last_purged_hash, purged_count)
        VALUES (now(), cutoff, last_id, last_hash, purged);
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION {schema}.activitylog_purge(timestamptz) FROM PUBLIC;
"""

UNINSTALL = """
DROP FUNCTION {schema}.activitylog_purge(timestamptz);
DROP TRIGGER activitylog_no_truncate ON {schema}.{anchors};
DROP TRIGGER activitylog_no_update_delete ON {schema}.{anchors};
DROP TRIGGER activitylog_no_truncate ON {schema}.{entries};
DROP TRIGGER activitylog_no_update_delete ON {schema}.{entries};
DROP FUNCTION {schema}.activitylog_refuse_change();
"""


def run(template):
    def operation(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            [schema] = cursor.fetchone()
        schema_editor.execute(template.format(schema=schema, entries=ENTRIES, anchors=ANCHORS,
                                              lock_key=LOCK_KEY), params=None)
    return operation


class Migration(migrations.Migration):

    dependencies = [
        ("activitylog", "0003_hash_chain"),
    ]

    operations = [
        migrations.RunPython(run(INSTALL), run(UNINSTALL), elidable=False),
    ]
