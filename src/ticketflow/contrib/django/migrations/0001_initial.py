"""Create ticketflow's tables in the database migrated, with the library's own `migrate`."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def create_tables(apps: Any, schema_editor: Any) -> None:
    """Run the store's `migrate` on the migrated database, in the migration's transaction."""
    from ticketflow.contrib.django import store_for  # noqa: PLC0415 - at migration time

    store_for(schema_editor.connection.alias).migrate()


class Migration(migrations.Migration):  # type: ignore[misc]  # Django ships no types
    """ticketflow's tables (its schema version 1 onwards) and the admin's view of tickets."""

    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        # Reversing leaves the tables (and their tickets) in place: drop them by hand.
        migrations.RunPython(create_tables, migrations.RunPython.noop, elidable=False),
        migrations.CreateModel(
            name="Ticket",
            fields=[
                ("id", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("version", models.IntegerField()),
                ("status", models.CharField(max_length=64)),
                ("priority", models.SmallIntegerField()),
                ("assignee", models.CharField(max_length=200, null=True)),
                ("department", models.CharField(max_length=200, null=True)),
            ],
            options={
                "verbose_name": "ticket",
                "db_table": "tickets",
                "ordering": ("-id",),
                "managed": False,
                "default_permissions": ("view",),
            },
        ),
    ]
