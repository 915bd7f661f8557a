"""The embedded broker: fakeredis' Redis-protocol TCP server, for `bnbench up` on one machine.

It speaks real Redis to Celery, so workers, acks and the visibility timeout behave as in
production. It keeps nothing on disk: a restart loses queued messages, which the reconciler
re-sends from the database.
"""

from __future__ import annotations

import socket
import threading

from worker.settings import EMBEDDED_BROKER_PORT


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class EmbeddedBroker:
    def __init__(self, port: int, host: str = "127.0.0.1"):
        from fakeredis import TcpFakeServer

        self.host, self.port = host, port
        self.server = TcpFakeServer((host, port), server_type="redis")
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="broker", daemon=True)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> EmbeddedBroker:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    """python -m worker.embedded [PORT]: serve until interrupted."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else EMBEDDED_BROKER_PORT
    broker = EmbeddedBroker(port).start()
    print(f"embedded broker on {broker.url}", flush=True)
    try:
        broker.thread.join()
    except KeyboardInterrupt:
        broker.stop()


if __name__ == "__main__":
    main()
