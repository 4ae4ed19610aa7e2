from django.conf import settings
from django.contrib import admin

from .models import Book


class BookAdmin(admin.ModelAdmin):
    list_display = ["title"]


if getattr(settings, "CATALOG_BROKEN_ADMIN", False):
    # admin.E108: list_display names neither a field nor an attribute.
    BookAdmin.list_display = ["title", "no_such_field"]

admin.site.register(Book, BookAdmin)
