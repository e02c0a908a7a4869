"""uvicorn's worker supervisor, refusing new connections as soon as a graceful stop begins.

With several workers, uvicorn's supervisor keeps its copy of the listening socket open until it exits, so
during a stop new connections queue on it and are reset at the end instead of being refused. This one
closes its copy before it asks the workers to finish; each worker closes its own as its shutdown begins,
so new connections are refused at once while the requests in flight finish.
"""

from __future__ import annotations

from uvicorn.supervisors import Multiprocess


class ClosingSupervisor(Multiprocess):
    def terminate_all(self) -> None:
        for sock in self.sockets:
            sock.close()
        super().terminate_all()
