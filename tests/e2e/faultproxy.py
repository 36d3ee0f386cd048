"""A TCP proxy that mistreats connections the way store networks do.

Each accepted connection gets one fate, drawn from a seeded random generator:

- `pass`: bytes flow both ways untouched;
- `drop_request`: the client's connection is closed before anything reaches the server;
- `drop_response`: the request reaches the server, which commits and answers, but the answer
  is cut off after its first bytes (the hardest case: the kiosk must resend, the server must
  answer `duplicate`);
- `delay`: everything flows, after a pause that may outlast the client's timeout;
- `reset`: the client's connection is reset (TCP RST) at once.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading
import time
from collections import Counter

FATES = ("pass", "drop_request", "drop_response", "delay", "reset")


class FaultProxy:
    """Listens on a loopback port and forwards to `upstream_port`, applying fates."""

    def __init__(
        self,
        upstream_port: int,
        seed: int = 0,
        weights: dict[str, float] | None = None,
        max_delay_s: float = 3.0,
    ) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.rng = random.Random(seed)
        weights = weights or {
            "pass": 4,
            "drop_request": 1,
            "drop_response": 2,
            "delay": 1,
            "reset": 1,
        }
        self.fates = list(weights)
        self.weights = [weights[f] for f in self.fates]
        self.max_delay_s = max_delay_s
        self.counts: Counter[str] = Counter()
        self._rng_lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._stopping.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def _draw(self) -> tuple[str, float]:
        with self._rng_lock:
            fate = self.rng.choices(self.fates, self.weights)[0]
            delay = self.rng.uniform(0.2, self.max_delay_s)
        self.counts[fate] += 1
        return fate, delay

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            fate, delay = self._draw()
            threading.Thread(target=self._serve, args=(client, fate, delay), daemon=True).start()

    def _serve(self, client: socket.socket, fate: str, delay: float) -> None:
        try:
            if fate == "reset":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if fate == "drop_request":
                client.recv(1)  # wait until the client starts talking, then hang up
                return
            if fate == "delay":
                time.sleep(delay)
            upstream = socket.create_connection(self.upstream, timeout=30)
            with upstream:
                forward = threading.Thread(
                    target=_pump, args=(client, upstream, False), daemon=True
                )
                forward.start()
                _pump(upstream, client, cut_after_first=fate == "drop_response")
                forward.join(timeout=1)
        except OSError:
            pass
        finally:
            client.close()


def _pump(source: socket.socket, target: socket.socket, cut_after_first: bool) -> None:
    """Copy bytes until either side closes; `cut_after_first` stops once an answer begins."""
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            if cut_after_first:
                # The server has committed and begun its answer: the kiosk never sees it.
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
