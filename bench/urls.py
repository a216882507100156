"""The project's URLs plus the yardstick: a bare endpoint that does one INSERT."""

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from taxpoynt.urls import urlpatterns as project_urlpatterns

YARDSTICK_TABLE = "bench_yardstick"


@csrf_exempt
def yardstick(request):
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {YARDSTICK_TABLE} (received_at, body) VALUES (now(), %s)",  # noqa: S608
            [request.body.decode("utf-8", errors="replace")],
        )
    return JsonResponse({"stored": 1})


urlpatterns = [path("_bench/yardstick", yardstick), *project_urlpatterns]
