"""An htmx page for the live reload browser test (see README.md here).

    /htmx/       a full HTML document with htmx and a stylesheet
    /htmx/item/  an HTML fragment: one <li>, what htmx swaps in
"""

import itertools

from django.http import HttpResponse
from django.urls import path

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>htmx</title>
<link rel="stylesheet" href="/static/shop/htmxdemo.css">
<script src="/static/shop/htmx.min.js"></script>
</head><body>
<h1 id="title">htmx page</h1>
<button id="more" hx-get="/htmx/item/" hx-target="#list" hx-swap="beforeend">more</button>
<ul id="list"></ul>
</body></html>
"""

_count = itertools.count(1)


def page(request):
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


def item(request):
    return HttpResponse('<li class="item">item %d</li>' % next(_count), content_type="text/html; charset=utf-8")


urlpatterns = [path("htmx/", page), path("htmx/item/", item)]
