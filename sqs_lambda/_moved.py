"""The module paths of 0.2, from before the runtime was grouped into subpackages, still import.

``import sqs_lambda.envelope`` (or ``from sqs_lambda.backoff import exponential``) gives the module
at its new place, the same object, so state and monkeypatching are shared. One table, no copies of
modules; the package installs the finder on import, ahead of the path finders, and it claims the
table's names only. ``sqs_lambda.aws`` and ``sqs_lambda.worker`` are
packages of their own that re-export what those modules had.
"""

from __future__ import annotations

import importlib
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from importlib.abc import Loader

MOVED = {
    "backoff": "consuming.backoff",
    "batch": "consuming.batch",
    "codec": "wire.codec",
    "consumer": "consuming.consumer",
    "cutoff": "consuming.cutoff",
    "delivery": "consuming.delivery",
    "dispatch": "consuming.dispatch",
    "effects": "consuming.effects",
    "envelope": "wire.envelope",
    "failure": "consuming.failure",
    "heartbeat": "worker.heartbeat",
    "idempotency": "consuming.idempotency",
    "invoke": "consuming.invoke",
    "payloads": "wire.payloads",
    "peers": "wire.peers",
    "peers.celery": "wire.peers.celery",
    "peers.django_eb_sqs": "wire.peers.django_eb_sqs",
    "peers.foreign": "wire.peers.foreign",
    "peers.pickles": "wire.peers.pickles",
    "peers.sqs_workers": "wire.peers.sqs_workers",
    "policy": "consuming.policy",
    "producer": "producing.producer",
    "queues": "producing.queues",
    "records": "wire.records",
    "shutdown": "worker.shutdown",
    "signing": "wire.signing",
    "sqs": "aws.sqs",
}
PACKAGE = "sqs_lambda"


class MovedModules:
    """Finds ``sqs_lambda.<old path>`` and loads it as the module at its new path (a meta path finder
    and its loader, by protocol: ``importlib.abc`` would cost every cold start its import)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> ModuleSpec | None:
        package, _, rest = fullname.partition(".")
        if package != PACKAGE or rest not in MOVED:
            return None
        return ModuleSpec(fullname, cast("Loader", self))

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{MOVED[spec.name.partition('.')[2]]}")

    def exec_module(self, module: ModuleType) -> None:
        """Already executed at its new path."""


def install() -> None:
    import sys

    if not any(isinstance(finder, MovedModules) for finder in sys.meta_path):
        # first: ``sqs_lambda.peers.celery`` must not be found again, as a copy, under the alias's path;
        # it claims only the table's names, which are files no more
        sys.meta_path.insert(0, MovedModules())
