"""Writing a file whole or not at all: a temp file beside it, then a rename.

Readers see the old content or the new, never half of it. A process killed
between creating its temp file and renaming it (kill -9, a power cut)
leaves the temp file behind; its name says whose it is
(``.NAME.zonesolve.HOST.PID.XXXXXX.tmp``), and the next write beside it
removes those of processes of this host that no longer exist.
"""

from __future__ import annotations

import contextlib
import os
import socket
import stat
import tempfile
from pathlib import Path

__all__ = ["remove_stale", "temp_beside"]

_TAG = "zonesolve"
_SUFFIX = ".tmp"


def _host() -> str:
    """This host's name, as it may appear in a file name (no ``/``)."""
    return socket.gethostname().replace("/", "_") or "localhost"


def _prefix(name: str) -> str:
    return f".{name}.{_TAG}."


def temp_beside(target: Path) -> tuple[int, str]:
    """A new temp file in ``target``'s directory: (open descriptor, path)."""
    prefix = f"{_prefix(target.name)}{_host()}.{os.getpid()}."
    return tempfile.mkstemp(prefix=prefix, suffix=_SUFFIX, dir=target.parent)


def remove_stale(target: Path) -> None:
    """Remove the temp files that writes of ``target`` by dead processes of
    this host left behind. Never fails: this is housekeeping."""
    prefix = _prefix(target.name)
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix) and name.endswith(_SUFFIX) and _is_stale(name[len(prefix) :]):
            path = target.parent / name
            with contextlib.suppress(OSError):
                info = os.lstat(path)
                if stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid():
                    os.unlink(path)


def _is_stale(rest: str) -> bool:
    """``HOST.PID.XXXXXX.tmp``: written on this host by a process now gone."""
    parts = rest.rsplit(".", 3)
    if len(parts) != 4 or parts[0] != _host() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # exists (another user's), or not a PID at all
        return False
    return False
