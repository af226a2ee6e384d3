"""PostgreSQL refuses UPDATE, DELETE and TRUNCATE on activitylog_customer_name, as on the log (0004).

The customer filter trusts this table to name every tenant whose entries carry a matching name
(selectors.customers_named). Deleting a pair would hide that customer's entries from the Activity log page,
its export and /v1/auditrecords while the chain still verified; so the table only grows, like the log
itself. Only its owner can drop or disable these triggers (see the README's production section).
"""

from django.db import migrations

NAMES = "activitylog_customer_name"

INSTALL = """
CREATE TRIGGER activitylog_no_update_delete BEFORE UPDATE OR DELETE ON {schema}.{names}
    FOR EACH ROW EXECUTE FUNCTION {schema}.activitylog_refuse_change();
CREATE TRIGGER activitylog_no_truncate BEFORE TRUNCATE ON {schema}.{names}
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.activitylog_refuse_change();
"""

UNINSTALL = """
DROP TRIGGER activitylog_no_truncate ON {schema}.{names};
DROP TRIGGER activitylog_no_update_delete ON {schema}.{names};
"""


def run(template):
    def operation(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT quote_ident(current_schema())")
            [schema] = cursor.fetchone()
        schema_editor.execute(template.format(schema=schema, names=NAMES), params=None)
    return operation


class Migration(migrations.Migration):

    dependencies = [
        ("activitylog", "0008_entry_hmac"),
    ]

    operations = [
        migrations.RunPython(run(INSTALL), run(UNINSTALL), elidable=False),
    ]
