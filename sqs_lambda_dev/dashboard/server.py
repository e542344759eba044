"""Serving the dashboard with uvicorn: in a thread beside ``sqs-lambda local``, or in the foreground for
``sqs-lambda dashboard``. Port 0 takes a free port; :attr:`DashboardServer.url` says which."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any


class DashboardServer:
    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        import uvicorn

        self.host, self.token = host, token
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as error:
            self._socket.close()
            raise OSError(f"the dashboard cannot listen on {host}:{port}: {error.strerror}") from None
        self._socket.listen(128)  # connections wait in the backlog until uvicorn serves
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.on_stop: list[Callable[[], None]] = []  # cleanups (the probes' processes)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def link(self) -> str:
        """The URL to open: with the token, which the first visit turns into a cookie."""
        return self.url + (f"?token={self.token}" if self.token else "")

    def start(self) -> str:
        """Serve in a daemon thread; returns once it accepts connections."""
        self._thread = threading.Thread(target=self.serve, daemon=True, name="dashboard")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.url

    def serve(self) -> None:
        """Serve until :meth:`stop` (or Ctrl-C in the foreground)."""
        self.server.run(sockets=[self._socket])

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()
        for cleanup in self.on_stop:
            cleanup()
