"""PostgreSQL: a trigram index for the customer name substring filter.

Django's icontains compares UPPER(column::text) LIKE UPPER(%s), so the index is on that expression.
"""

from django.db import migrations

INSTALL = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX activity_customer_name_trgm ON activitylog_activitylogentry
    USING gin ((upper(customer_name::text)) gin_trgm_ops);
-- Finer statistics on the expression, so that the planner tells a name matching a few entries
-- (read them through the trigram index) from one matching many (walk the time index until a page is full).
ALTER INDEX activity_customer_name_trgm ALTER COLUMN 1 SET STATISTICS 1000;
"""

UNINSTALL = """
DROP INDEX activity_customer_name_trgm;
"""


def run(sql):
    def operation(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)
    return operation


class Migration(migrations.Migration):

    dependencies = [
        ("activitylog", "0004_append_only_triggers"),
    ]

    operations = [
        migrations.RunPython(run(INSTALL), run(UNINSTALL), elidable=False),
    ]
