"""Seed the rows /items/ lists, so that `migrate` alone makes the page work."""

from decimal import Decimal

from django.db import migrations

ITEMS = [
    ("Apple", Decimal("0.50"), 10),
    ("Banana", Decimal("0.25"), 20),
    ("Cherry", Decimal("3.00"), 5),
]


def seed(apps, schema_editor):
    Item = apps.get_model("shop", "Item")
    for name, price, quantity in ITEMS:
        Item.objects.update_or_create(
            name=name, defaults={"price": price, "quantity": quantity}
        )


def unseed(apps, schema_editor):
    Item = apps.get_model("shop", "Item")
    Item.objects.filter(name__in=[name for name, _, _ in ITEMS]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("shop", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
