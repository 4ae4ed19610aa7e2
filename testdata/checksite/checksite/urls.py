from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse
from django.urls import path


def index(request):
    # GREETING lets a test see which settings the worker holds.
    return HttpResponse(getattr(settings, "GREETING", "checksite") + "\n", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("", index),
]
