"""The ``SQS_LAMBDA`` settings dict, read from Django's settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...aws import AwsConfig
from ...errors import ConfigurationError
from ...producing.queues import QueueRef


@dataclass(frozen=True)
class Settings:
    router_path: str | None = None
    queue: str | None = None
    stage: str = ""
    endpoint_url: str | None = None
    region: str | None = None

    @property
    def queue_ref(self) -> QueueRef:
        if not self.queue:
            raise ConfigurationError('SQS_LAMBDA["QUEUE"] is not set')
        return QueueRef.parse(self.queue, self.stage)

    @property
    def queue_name(self) -> str:
        """The queue's URL, or its name with the stage's prefix."""
        return str(self.queue_ref)

    @property
    def aws(self) -> AwsConfig:
        return AwsConfig(endpoint_url=self.endpoint_url, region=self.region)

    def backend(self) -> Any:
        from ...aws.sqs import AwsSqs

        return AwsSqs(config=self.aws)

    def queue_url(self) -> str:
        reference = self.queue_ref
        return reference.url or reference.resolve(self.backend())

    def router(self) -> Any:
        from ...worker import load_router

        if not self.router_path:
            raise ConfigurationError('SQS_LAMBDA["ROUTER"] is not set (e.g. "myapp.jobs:router")')
        return load_router(self.router_path)


def settings() -> Settings:
    from django.conf import settings as django_settings

    values = dict(getattr(django_settings, "SQS_LAMBDA", {}) or {})
    return Settings(
        router_path=values.get("ROUTER"),
        queue=values.get("QUEUE"),
        stage=str(values.get("STAGE") or ""),
        endpoint_url=values.get("ENDPOINT_URL"),
        region=values.get("REGION"),
    )


def configure_router(router: Any, configured: Settings | None = None) -> None:
    """Bind the router's jobs to the settings' queue (on the settings' endpoint)."""
    from ...producing.producer import Producer

    configured = configured or settings()
    reference = configured.queue_ref
    router.bind(
        Producer(
            queue_url=reference.url,
            queue_name=reference.name,
            stage=reference.stage,
            router=router,
            backend=configured.backend(),
        )
    )
