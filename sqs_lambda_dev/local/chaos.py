"""``sqs-lambda local --chaos SPEC``: the faults AWS will throw at a function, injected on purpose.

Each fault has a rate (0 to 1, rolled per batch or per message) and the run a ``seed``, so a run can be
repeated. A SPEC is ``kills=0.1,duplicates=0.2,seed=7`` or a TOML file with a ``[tool.sqs-lambda.chaos]``
table (``pyproject.toml``) or the same keys at its top. The faults:

- ``kills``: an execution environment is SIGKILLed while it runs a batch, within its first 50 ms (per
  batch);
- ``duplicates``: a message is made visible again while it is in flight, so it is delivered twice, as
  SQS's at-least-once delivery may (per message);
- ``lost_deletes``: a succeeded record's delete is dropped, so it comes back after its visibility
  timeout (per record);
- ``sqs_errors``: the runtime's own SQS calls (receive, delete) fail: throttling, a 500, a dropped
  connection (per call);
- ``delays``: a batch waits up to ``max_delay`` seconds (default 2) before its invocation (per batch);
- ``skew``: each function's clock is off by up to this many seconds, either way (``SQS_LAMBDA_CLOCK_SKEW``
  in its environment), so delayed jobs run early or late, as on hosts whose clocks drift.

:class:`Ledger` keeps what the triggers saw of each job (by its lineage: the envelope id, else the message
id) for the report: sent, succeeded once or more than once, in a DLQ with or without a reason, lost.
"""

from __future__ import annotations

import random
import threading
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from sqs_lambda.aws.sqs import ForwardingSqs, SqsBackend
from sqs_lambda.errors import ConfigurationError
from sqs_lambda.producing.queues import name_of_url

OnEvent = Callable[[str, dict[str, Any]], None]
RATES = ("kills", "duplicates", "lost_deletes", "sqs_errors", "delays")
KILL_WINDOW = 0.05  # seconds after a batch starts within which a kill lands


@dataclass(frozen=True)
class ChaosSpec:
    """The faults' rates (see the module docstring), the longest delay, and the seed."""

    kills: float = 0.0
    duplicates: float = 0.0
    lost_deletes: float = 0.0
    sqs_errors: float = 0.0
    delays: float = 0.0
    max_delay: float = 2.0
    skew: float = 0.0
    seed: int | None = None

    @classmethod
    def parse(cls, text: str) -> ChaosSpec:
        """``name=value,...``, or the path of a TOML file; a wrong name or value is one clear error."""
        path = Path(text)
        if text.endswith(".toml") or path.is_file():
            return cls.of(_table(path), f"--chaos {text}")
        values: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, equals, value = item.partition("=")
            if not equals:
                raise ConfigurationError(f"--chaos: {item!r} is not NAME=VALUE (e.g. kills=0.1,seed=7)")
            values[name.strip()] = value.strip()
        return cls.of(values, "--chaos")

    @classmethod
    def of(cls, values: Mapping[str, Any], where: str) -> ChaosSpec:
        known = [field.name for field in fields(cls)]
        chosen: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ConfigurationError(f"{where}: unknown fault {name!r} (known: {', '.join(known)})")
            try:
                number = int(value) if name == "seed" else float(value)
            except (TypeError, ValueError):
                raise ConfigurationError(f"{where}: {name}={value!r} is not a number") from None
            if name in RATES and not 0 <= number <= 1:
                raise ConfigurationError(f"{where}: {name}={value} is not a rate between 0 and 1")
            chosen[name] = number
        if chosen.get("skew", 0) < 0:
            raise ConfigurationError(f"{where}: skew is a number of seconds, 0 or more")
        if not any(chosen.get(name) for name in (*RATES, "skew")):
            raise ConfigurationError(f"{where}: no fault has a rate above 0 (faults: {', '.join(RATES)})")
        return cls(**chosen)


def _table(path: Path) -> Mapping[str, Any]:
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"--chaos {path}: {error}") from None
    table = document.get("tool", {}).get("sqs-lambda", {}).get("chaos", document)
    return {name: value for name, value in table.items() if not isinstance(value, dict)}


class Chaos:
    """Rolls the faults (seeded, thread-safe) and says each one as a ``fault`` event."""

    def __init__(self, spec: ChaosSpec, on_event: OnEvent) -> None:
        self.spec, self.on_event = spec, on_event
        self.injected: Counter[str] = Counter()
        self._random = random.Random(spec.seed)
        self._lock = threading.Lock()

    def roll(self, fault: str) -> bool:
        rate = float(getattr(self.spec, fault))
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def fraction(self) -> float:
        with self._lock:
            return self._random.random()

    def injected_now(self, fault: str, **details: Any) -> None:
        with self._lock:
            self.injected[fault] += 1
        self.on_event("fault", {"fault": fault, **details})

    def before_batch(
        self, mapping: str, queue_url: str, port: SqsBackend, messages: Sequence[Mapping[str, Any]]
    ) -> None:
        """Delay the batch, and make some of its messages visible again (duplicates)."""
        if self.roll("delays"):
            seconds = round(self.spec.max_delay * self.fraction(), 3)
            self.injected_now("delays", mapping=mapping, seconds=seconds)
            time.sleep(seconds)
        again = [m for m in messages if self.roll("duplicates")]
        if again:
            port.change_visibility(queue_url, [(m["ReceiptHandle"], 0) for m in again])
            for message in again:
                self.injected_now("duplicates", mapping=mapping, message_id=message["MessageId"])

    def kill_during(self, mapping: str, kill: Callable[[], bool], timeout: float) -> threading.Timer | None:
        """Maybe kill an environment running this batch, at a random moment of its first 50 ms (or half its
        timeout, if shorter): early, so that a kill lands on short invocations too."""
        if not self.roll("kills"):
            return None

        def fire() -> None:
            if kill():
                self.injected_now("kills", mapping=mapping)

        timer = threading.Timer(min(timeout * 0.5, KILL_WINDOW) * self.fraction(), fire)
        timer.daemon = True
        timer.start()
        return timer

    def clock_skew(self, function: str) -> dict[str, str]:
        """The environment variable that puts ``function``'s clock off (nothing without ``skew``)."""
        if not self.spec.skew:
            return {}
        seconds = round(self.spec.skew * (2 * self.fraction() - 1), 3)
        self.injected_now("skew", function=function, seconds=seconds)
        return {"SQS_LAMBDA_CLOCK_SKEW": str(seconds)}

    def port(self, backend: SqsBackend) -> ChaosSqs:
        return ChaosSqs(backend, self)


class ChaosSqs(ForwardingSqs):
    """The runtime's SQS port with faults: failing calls (``sqs_errors``) and dropped deletes
    (``lost_deletes``). Everything else goes to ``backend`` unchanged."""

    def __init__(self, backend: SqsBackend, chaos: Chaos) -> None:
        super().__init__(backend)
        self.chaos = chaos

    def _maybe_fail(self, call: str) -> None:
        if self.chaos.roll("sqs_errors"):
            kind = ("ThrottlingException", "InternalError (500)", "connection dropped")[int(self.chaos.fraction() * 3)]
            self.chaos.injected_now("sqs_errors", call=call, error=kind)
            raise ConnectionError(f"chaos: {call} failed: {kind}")

    def receive(
        self, url: str, *, max_messages: int = 10, wait_seconds: float = 0, visibility_timeout: int | None = None
    ) -> list[dict[str, Any]]:
        self._maybe_fail("ReceiveMessage")
        return self.backend.receive(
            url, max_messages=max_messages, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout
        )

    def delete(self, url: str, receipts: Sequence[str]) -> list[dict[str, Any]]:
        """A failed call answers every entry as failed (as DeleteMessageBatch's ``Failed`` does); a lost
        delete answers success and does nothing."""
        if self.chaos.roll("sqs_errors"):
            self.chaos.injected_now("sqs_errors", call="DeleteMessageBatch", error="InternalError (500)")
            return [{"Id": str(n), "Code": "InternalError", "SenderFault": False} for n in range(len(receipts))]
        kept = [receipt for receipt in receipts if not self.chaos.roll("lost_deletes")]
        for _ in range(len(receipts) - len(kept)):
            self.chaos.injected_now("lost_deletes", queue=name_of_url(url))
        return self.backend.delete(url, kept) if kept else []
