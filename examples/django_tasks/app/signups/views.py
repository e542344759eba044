"""POST /signups enqueues the welcome task after the signup commits; GET /signups/<id> reads its result."""

from __future__ import annotations

import json
from functools import partial

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .tasks import send_welcome


@csrf_exempt
def sign_up(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST a JSON body with an email"}, status=405)
    payload = json.loads(request.body or b"{}")
    email, name = str(payload.get("email", "")), str(payload.get("name", ""))
    enqueued: list[str] = []
    with transaction.atomic():
        ...  # save the signup here
        # on commit, as Django's documentation recommends: a rolled-back signup sends nothing
        enqueue = partial(send_welcome.enqueue, email=email, name=name)
        transaction.on_commit(lambda: enqueued.append(enqueue().id))
    return JsonResponse({"result_id": enqueued[0]}, status=202)


def signup_status(request: HttpRequest, result_id: str) -> JsonResponse:
    result = send_welcome.get_result(result_id)
    return JsonResponse(
        {
            "status": str(result.status),
            "attempts": result.attempts,
            "return_value": result.return_value if result.status == "SUCCESSFUL" else None,
            "errors": [error.exception_class_path for error in result.errors],
        }
    )
