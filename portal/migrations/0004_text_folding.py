from django.db import migrations

from portal.text import POSTGRESQL_CREATE, POSTGRESQL_DROP


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)


class Migration(migrations.Migration):
    """Search that ignores case and accents, and names sorted as a reader expects (portal/text.py)."""

    dependencies = [("portal", "0003_agent_entra_object_id")]

    operations = [migrations.RunPython(create, drop)]
