"""Waking the engine when work arrives, instead of leaving it to its next poll.

The engine binds a datagram socket at ``{home}/batch.doorbell`` and waits on it together
with its running attempts; a client that committed a submission, a terminate/cancel request
or a registration change rings it (one byte, never blocking). The poll stays as the safety
net: a ring that finds no engine (none running, or a home path too long for a socket name)
is dropped, and the engine picks the change up on its next poll.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

DOORBELL_FILE = "batch.doorbell"


def ring(home: Path) -> None:
    """Tell the engine of ``home`` (if one listens) that the jobs tables changed."""
    with (
        contextlib.suppress(OSError),
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender,
    ):
        sender.setblocking(False)
        sender.sendto(b"\0", str(Path(home) / DOORBELL_FILE))


class Doorbell:
    """The engine's end: a non-blocking socket that becomes readable when rung."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / DOORBELL_FILE
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.path.unlink(missing_ok=True)
            self._socket.bind(str(self.path))
        except OSError:
            self._socket.close()
            raise
        self._socket.setblocking(False)
        self._inode = os.stat(self.path).st_ino

    def fileno(self) -> int:
        """The descriptor to wait on."""
        return self._socket.fileno()

    def clear(self) -> None:
        """Consume every ring received so far."""
        with contextlib.suppress(BlockingIOError):
            while self._socket.recv(64):
                pass

    def close(self) -> None:
        """Stop listening and remove the socket file (unless a newer engine replaced it)."""
        self._socket.close()
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                self.path.unlink()


def open_doorbell(home: Path) -> Doorbell | None:
    """The engine's doorbell, or None where the socket cannot be made (the engine polls)."""
    try:
        return Doorbell(home)
    except OSError:
        return None
