"""Entries carry the id of the key whose HMAC their hash is (activitylog/chain.py).

Existing entries get an empty key id: they were hashed with plain SHA-256, verify as before and are
reported as unkeyed. Adding a column with a constant default rewrites no row on PostgreSQL, so the
append-only triggers are not involved.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("activitylog", "0007_customer_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="activitylogentry",
            name="hmac_key_id",
            field=models.CharField(blank=True, default="", db_default="", editable=False, max_length=32,
                                   verbose_name="HMAC key id"),
        ),
    ]
