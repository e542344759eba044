"""The shop's jobs: one takes a model instance as its argument."""

from __future__ import annotations

from sqs_lambda import Router

from .models import Order

router = Router()
shipped: list[tuple[int, str]] = []


@router.job()
def ship(order: Order, carrier: str = "post") -> None:
    shipped.append((order.pk, order.number))


@router.job()
def note(text: str) -> None:
    shipped.append((0, text))
