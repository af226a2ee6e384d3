"""PostgreSQL: one GIN index for the customer name substring and its combinations with other filters.

The first column is a trigram index on UPPER(customer_name::text), the expression Django's icontains
compares. The equality filters (status, performed by, source, action) are further columns (btree_gin), so
that a rare combination such as "Litware, by this agent, failed" is answered inside one index scan
instead of intersecting three large bitmaps. Single filters and common combinations still walk the
(…, time, id) b-tree indexes, which return a page in order.
"""

from django.db import migrations

INSTALL = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE INDEX activity_filters_gin ON activitylog_activitylogentry
    USING gin ((upper(customer_name::text)) gin_trgm_ops, status, actor_email, source, action);
-- Finer statistics on the name expression, so that the planner tells a name matching a few entries
-- (read them through this index) from one matching many (walk the time index until a page is full).
ALTER INDEX activity_filters_gin ALTER COLUMN 1 SET STATISTICS 1000;
"""

UNINSTALL = """
DROP INDEX activity_filters_gin;
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
