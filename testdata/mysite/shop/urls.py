from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("items/", views.items, name="items"),
    path("form/", views.form, name="form"),
    path("form-csrf/", views.form_csrf, name="form_csrf"),
    path("stream/", views.stream, name="stream"),
    path("upload/", views.upload, name="upload"),
    path("echo-environ/", views.echo_environ, name="echo_environ"),
    path("version/", views.version, name="version"),
    path("error/", views.error, name="error"),
    path("slow/", views.slow, name="slow"),
    path("pid/", views.pid, name="pid"),
]
