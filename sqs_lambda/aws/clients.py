"""The thin AWS layer: boto3 clients built lazily, on the first call that needs one.

boto3 is imported on that first call (backoff, DLQ copies, the producer), never at import time: the
router's success path stays free of it. SQS itself is reached through the port in :mod:`sqs_lambda.aws.sqs`;
this module only builds clients, each for an :class:`AwsConfig` (endpoint, region, profile, credentials),
the one value that says where AWS is. What it leaves out is boto3's own default (``AWS_ENDPOINT_URL_SQS``,
``AWS_REGION``...), read through :mod:`sqs_lambda.settings`, and the cache follows it.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import settings

_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}


LOCAL_REGION = "us-east-1"
LOCAL_KEY_PAIR = ("testing", "testing")  # local engines take any credentials
_told: set[str] = set()


@dataclass(frozen=True, slots=True)
class AwsConfig:
    """Where and as whom sqs-lambda reaches AWS: one value for the SQS port, the client cache, the CLI,
    the operations and worker mode. Every field left out means boto3's own default.

    - ``endpoint_url``: a local engine or LocalStack (a loopback one gets a region and dummy keys);
    - ``region``, and ``profile`` (a named profile of ``~/.aws/config``);
    - ``credentials``: (access key, secret), for local engines, which take any;
    - ``aws_only``: ignore endpoints configured in the environment (the CLI's ``--aws``).
    """

    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    credentials: tuple[str, str] | None = None
    aws_only: bool = False

    def client(self, service: str, region: str | None = None) -> Any:
        """The cached boto3 client of ``service`` with this configuration (``region`` overrides it)."""
        return client(service, region or self.region, config=self)


DEFAULT = AwsConfig()


def is_loopback(url: str | None) -> bool:
    """The URL names this machine (127.0.0.0/8, localhost, ::1): a local engine, never AWS."""
    if not url:
        return False
    host = url.split("//", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    host = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    return is_loopback_host(host)


def is_loopback_host(host: str) -> bool:
    """A host name or address of this machine (127.0.0.0/8, localhost, ::1)."""
    return host in ("localhost", "::1") or host.startswith("127.")


def _has_own_credentials(profile: str | None) -> bool:
    """Credentials boto3 would find without asking the network (environment, profile, files)."""
    keys, named_profile, *files = settings.current().credential_sources
    if profile or keys or named_profile:
        return True
    defaults = (os.path.expanduser("~/.aws/credentials"), os.path.expanduser("~/.aws/config"))
    return any(path and path != os.devnull and os.path.isfile(path) for path in (*files, *defaults))


def local_defaults(
    endpoint: str | None, region: str | None, credentials: tuple[str, str] | None, profile: str | None
) -> tuple[str | None, tuple[str, str] | None]:
    """For a loopback endpoint, fill what AWS would demand and a local engine ignores: a region
    (us-east-1) and dummy credentials, each only when none is configured. Said once per endpoint."""
    if not is_loopback(endpoint):
        return region, credentials
    filled = []
    if region is None:
        region = LOCAL_REGION
        filled.append(f"region {LOCAL_REGION}")
    if credentials is None and not _has_own_credentials(profile):
        credentials = LOCAL_KEY_PAIR
        filled.append("local dummy credentials")
    if filled and endpoint not in _told:
        _told.add(str(endpoint))
        import logging

        logging.getLogger("sqs_lambda").warning(
            "sqs-lambda: %s is a local endpoint: using %s", endpoint, " and ".join(filled)
        )
    return region, credentials


def client(service: str = "sqs", region: str | None = None, *, config: AwsConfig = DEFAULT, **fields: Any) -> Any:
    """A cached boto3 client for ``config`` (see :class:`AwsConfig`; ``region`` overrides its region).
    One retry layer: botocore's standard mode, 4 attempts in total. ``fields`` are AwsConfig's, one by
    one, as 0.2 took them (``endpoint_url=``, ``credentials=``...)."""
    return _cached("client", service, region, dataclasses.replace(config, **fields) if fields else config)


def resource(service: str, region: str | None = None, *, config: AwsConfig = DEFAULT, **fields: Any) -> Any:
    """A cached boto3 resource (e.g. ``resource("dynamodb").Table(name)``) for ``config`` (``fields``: as
    for :func:`client`)."""
    return _cached("resource", service, region, dataclasses.replace(config, **fields) if fields else config)


def _cached(kind: str, service: str, region: str | None, config: AwsConfig) -> Any:
    configured = () if config.aws_only else settings.current().endpoints(service)
    region = region or config.region or default_region()
    if region != config.region:  # one client per effective configuration, however it was spelled
        config = dataclasses.replace(config, region=region)
    key = (kind, service, region, config, *configured)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            import boto3  # lazy: the cold-start path never gets here
            from botocore.config import Config

            _quiet_botocore()
            endpoint = config.endpoint_url or next((url for url in configured if url), None)
            region_name, credentials = local_defaults(endpoint, region, config.credentials, config.profile)
            keys = {"aws_access_key_id": credentials[0], "aws_secret_access_key": credentials[1]} if credentials else {}
            session = boto3.session.Session(profile_name=config.profile, **keys)
            botocore_config = Config(
                retries={"mode": "standard", "total_max_attempts": 4},
                connect_timeout=5,
                read_timeout=30,
                ignore_configured_endpoint_urls=config.aws_only,
            )
            make = session.client if kind == "client" else session.resource
            _clients[key] = make(
                service, region_name=region_name, endpoint_url=config.endpoint_url, config=botocore_config
            )
        return _clients[key]


def _quiet_botocore() -> None:
    """botocore's INFO lines ("Found credentials in environment variables.") are noise in a function
    logging JSON at INFO: keep them at WARNING, unless the application set botocore's level itself."""
    import logging

    botocore_logger = logging.getLogger("botocore")
    if botocore_logger.level == logging.NOTSET:
        botocore_logger.setLevel(logging.WARNING)


_forgetters: list[Callable[[], None]] = []  # what else caches from clients (sqs's default port registers)


def on_reset(forget: Callable[[], None]) -> None:
    """Call ``forget`` on every :func:`reset` (for caches built over these clients)."""
    _forgetters.append(forget)


def forget_clients() -> None:
    """Drop the cached clients (their connections and credentials) and the settings snapshot, keeping the
    queues' facts: what a SnapStart restore needs anew, since a snapshot is shared by environments."""
    with _lock:
        _clients.clear()
    settings.expire()


def reset() -> None:
    """Forget cached clients and the default SQS backend's queue facts (tests, a re-pointed endpoint)."""
    with _lock:
        _clients.clear()
        _told.clear()
    settings.expire()
    for forget in _forgetters:
        forget()


def default_region() -> str | None:
    return settings.current().region


def region_of(arn_or_url: str) -> str | None:
    """The region named in a queue ARN or an AWS queue URL; None for local endpoints."""
    if arn_or_url.startswith("arn:"):
        parts = arn_or_url.split(":")
        return parts[3] if len(parts) > 5 and parts[3] else None
    host = arn_or_url.split("//", 1)[-1].split("/", 1)[0]
    pieces = host.split(".")
    if len(pieces) >= 4 and pieces[0] == "sqs" and pieces[-2] == "amazonaws":
        return pieces[1]
    return None


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
