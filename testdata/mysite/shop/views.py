"""Views of gowsgi's Django test project. Every answer is deterministic (apart
from /pid/ and the CSRF token of /form-csrf/) so Go tests can compare exact
bodies."""

import hashlib
import json
import os
import time

from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_POST

from mysite import version as version_module

from .models import Item

TEXT = "text/plain; charset=utf-8"
JSON_PARAMS = {"sort_keys": True}
CHUNK = 64 * 1024

# request.META keys reported by /echo-environ/ (null when absent), plus every
# HTTP_* key present.
ENVIRON_KEYS = [
    "REQUEST_METHOD",
    "PATH_INFO",
    "SCRIPT_NAME",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "wsgi.url_scheme",
    "wsgi.multithread",
    "wsgi.multiprocess",
]


def _float_param(request, name, default, lo, hi):
    raw = request.GET.get(name, default)
    try:
        value = float(raw)
    except ValueError:
        return raw, None
    if not lo <= value <= hi:
        return raw, None
    return raw, value


def index(request):
    return HttpResponse("Hello from mysite", content_type=TEXT)


def items(request):
    return render(request, "shop/items.html", {"items": list(Item.objects.all())})


def _fields(request):
    """The posted fields as JSON: a string per field, a list for a repeated
    one; the CSRF form field is left out so the body stays deterministic."""
    data = {}
    for key, values in request.POST.lists():
        if key == "csrfmiddlewaretoken":
            continue
        data[key] = values[0] if len(values) == 1 else values
    return JsonResponse(data, json_dumps_params=JSON_PARAMS)


@csrf_exempt
def form(request):
    if request.method == "POST":
        return _fields(request)
    return render(request, "shop/form.html", {"with_csrf": False})


@csrf_protect
@ensure_csrf_cookie
def form_csrf(request):
    if request.method == "POST":
        return _fields(request)
    return render(request, "shop/form.html", {"with_csrf": True})


def stream(request):
    try:
        n = int(request.GET.get("n", "5"))
    except ValueError:
        n = -1
    _, delay = _float_param(request, "delay", "0.05", 0.0, 10.0)
    if not 0 <= n <= 100_000 or delay is None:
        return HttpResponseBadRequest("bad n or delay\n", content_type=TEXT)

    def chunks():
        for i in range(n):
            if i and delay:
                time.sleep(delay)
            yield f"chunk {i}\n".encode()

    return StreamingHttpResponse(chunks(), content_type=TEXT)


@csrf_exempt
@require_POST
def upload(request):
    """multipart/form-data: hash the part named "file" (Django spools parts
    over FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary file). Any other content
    type: hash the raw request body, read in 64 KiB pieces."""
    digest = hashlib.sha256()
    size = 0
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            return JsonResponse({"error": "no file field named 'file'"}, status=400)
        name = upload.name
        for piece in upload.chunks(CHUNK):
            digest.update(piece)
            size += len(piece)
    else:
        name = None
        while piece := request.read(CHUNK):
            digest.update(piece)
            size += len(piece)
    return JsonResponse(
        {"name": name, "size": size, "sha256": digest.hexdigest()},
        json_dumps_params=JSON_PARAMS,
    )


@csrf_exempt
def echo_environ(request):
    meta = request.META
    data = {key: meta.get(key) for key in ENVIRON_KEYS}
    for key, value in meta.items():
        if key.startswith("HTTP_"):
            data[key] = value
    return JsonResponse(data, json_dumps_params=JSON_PARAMS)


def version(request):
    # Read the attribute per request from the module imported at start-up:
    # only a reload (new process or re-import) shows a rewritten version.py.
    return HttpResponse(version_module.VERSION, content_type=TEXT)


def error(request):
    raise RuntimeError("deliberate error from mysite /error/")


def slow(request):
    raw, seconds = _float_param(request, "s", "0.5", 0.0, 60.0)
    if seconds is None:
        return HttpResponseBadRequest("bad s\n", content_type=TEXT)
    time.sleep(seconds)
    return HttpResponse(f"slept {raw}", content_type=TEXT)


def pid(request):
    return HttpResponse(str(os.getpid()), content_type=TEXT)
