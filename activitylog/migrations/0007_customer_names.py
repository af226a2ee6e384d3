"""PostgreSQL: every (customer tenant id, customer name) pair the log holds, kept by a trigger.

The customer filter looks here first (selectors.customers_named): when the text matches only a few
customers, the page filters on their tenant ids and walks activity_tenant_time_idx in time order,
stopping after one page, instead of reading every entry of those customers through the trigram index and
sorting them. A few thousand pairs are read in well under a millisecond, however long the log.

The trigger adds the pairs of each INSERT statement in the same transaction as the entries, so a pair is
visible exactly when its entries are; writing an entry of a known pair costs one index probe. The table
only grows: a purge leaves its pairs behind, which can only add a tenant id with no entries left to the
filter, never lose one. It is a lookup table of the log's own text copies, not a Django model, and the
function is SECURITY DEFINER like activitylog_purge(), so the role that writes the log needs no grant.
"""

from django.db import migrations

ENTRIES = "activitylog_activitylogentry"
NAMES = "activitylog_customer_name"

# Also what bench/activity_log.py runs after loading with COPY, which fires no triggers.
BACKFILL = """
INSERT INTO {schema}.{names} (customer_tenant_id, customer_name)
    SELECT DISTINCT customer_tenant_id, customer_name FROM {schema}.{entries}
    ON CONFLICT DO NOTHING;
"""

INSTALL = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE {schema}.{names} (
    customer_tenant_id uuid,
    customer_name varchar(200) NOT NULL,
    CONSTRAINT activitylog_customer_name_uniq UNIQUE NULLS NOT DISTINCT (customer_tenant_id, customer_name)
);
-- The same expression as Django's icontains, so that a log with very many customers stays quick too.
CREATE INDEX activitylog_customer_name_trgm ON {schema}.{names}
    USING gin ((upper(customer_name::text)) gin_trgm_ops);

CREATE FUNCTION {schema}.activitylog_note_customer_names() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO {schema}.{names} (customer_tenant_id, customer_name)
        SELECT DISTINCT customer_tenant_id, customer_name FROM added
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION {schema}.activitylog_note_customer_names() FROM PUBLIC;
CREATE TRIGGER activitylog_note_customer_names AFTER INSERT ON {schema}.{entries}
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.activitylog_note_customer_names();
""" + BACKFILL + """
ANALYZE {schema}.{names};
"""

UNINSTALL = """
DROP TRIGGER activitylog_note_customer_names ON {schema}.{entries};
DROP FUNCTION {schema}.activitylog_note_customer_names();
DROP TABLE {schema}.{names};
"""


def run(template):
    def operation(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            [schema] = cursor.fetchone()
        schema_editor.execute(template.format(schema=schema, entries=ENTRIES, names=NAMES), params=None)
    return operation


class Migration(migrations.Migration):

    dependencies = [
        ("activitylog", "0006_failure_messages_api_token_actions"),
    ]

    operations = [
        migrations.RunPython(run(INSTALL), run(UNINSTALL), elidable=False),
    ]
