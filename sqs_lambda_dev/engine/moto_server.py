"""The embedded SQS endpoint: a moto server on 127.0.0.1 at a free port.

moto serves SQS, S3 and DynamoDB on one port, which is all the example application needs. It runs in
a child process by default (a second core, and its request logging stays out of our output); tests may
run it in a thread. Its SQS hot paths are patched there (:mod:`sqs_lambda_dev.engine.moto_speedups`), so a
send, receive or delete costs about the same in a queue of 10,000 messages as in an empty one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

from sqs_lambda.aws import LOCAL_KEY_PAIR, LOCAL_REGION
from sqs_lambda.aws.clients import is_loopback_host

LOCAL_KEYS = {  # the local keys as environment variables (one definition: sqs_lambda.aws's)
    "AWS_ACCESS_KEY_ID": LOCAL_KEY_PAIR[0],
    "AWS_SECRET_ACCESS_KEY": LOCAL_KEY_PAIR[1],
    "AWS_SESSION_TOKEN": LOCAL_KEY_PAIR[0],
}
LOCAL_CREDENTIALS = {**LOCAL_KEYS, "AWS_DEFAULT_REGION": LOCAL_REGION, "AWS_REGION": LOCAL_REGION}
PARENT_VARIABLE = "SQS_LAMBDA_ENGINE_PARENT"  # the engine exits when this process is gone (never an orphan)
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def is_ready(url: str, timeout: float = 1.0) -> bool:
    """The readiness probe: an SQS ListQueues call over the JSON protocol answers 200."""
    request = urllib.request.Request(
        url.rstrip("/") + "/",
        data=b"{}",
        method="POST",
        headers={
            "X-Amz-Target": "AmazonSQS.ListQueues",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class EmbeddedEngine:
    """Start and stop a moto server; ``url`` is its endpoint once started."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, *, in_process: bool = False) -> None:
        if not is_loopback_host(host):
            raise ValueError("the embedded engine listens on loopback only")
        self.host = host
        self.port = port
        self.in_process = in_process
        self._process: subprocess.Popen[bytes] | None = None
        self._thread_server: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        if self.in_process:
            from moto.server import ThreadedMotoServer

            from sqs_lambda_dev.engine.moto_speedups import apply

            apply()

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            self._thread_server = ThreadedMotoServer(ip_address=self.host, port=self.port or 0, verbose=False)
            self._thread_server.start()
            self.port = self._thread_server.get_host_and_port()[1]
        else:
            self.port = self.port or free_port(self.host)
            environment = {
                **os.environ,
                **LOCAL_CREDENTIALS,
                "PYTHONUNBUFFERED": "1",
                PARENT_VARIABLE: str(os.getpid()),
            }
            self._process = subprocess.Popen(
                [sys.executable, "-m", "sqs_lambda_dev.engine.moto_speedups", "-H", self.host, "-p", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=environment,
                start_new_session=True,  # a terminal's Ctrl-C reaches the runtime, which stops the engine last
            )
        deadline = time.monotonic() + timeout
        while not is_ready(self.url):
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"the moto server exited with code {self._process.returncode}; is moto[server] installed?"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the moto server did not answer at {self.url} within {timeout:.0f}s")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        if self._thread_server is not None:
            with contextlib.suppress(Exception):
                self._thread_server.stop()
            self._thread_server = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._process = None

    def __enter__(self) -> EmbeddedEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
