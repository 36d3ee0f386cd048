"""A test's server (socketserver's or werkzeug's) answering from a daemon thread, and its stop."""

from __future__ import annotations

import threading
from typing import Protocol

#: How often the serving thread looks for a stop request. `shutdown()` waits for that look:
#: at socketserver's default (0.5 s) each stop cost ~0.25 s of waiting, and a run stops
#: hundreds of servers.
POLL_S = 0.01


class _Server(Protocol):
    def serve_forever(self, poll_interval: float = ...) -> None: ...
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...


class Serving:
    """Serves `server` from a daemon thread until `stop()`."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": POLL_S}, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread (5 s at most)."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
