"""A tiny progress reporter for long loads and solves.

A reporter is a callable ``(phase, done, total) -> None``. It draws one line
on stderr, redrawn in place, and only when stderr is a terminal and the output
format is text: pipes, files and ``--format json`` stay silent. ``total`` of 0
means "unknown": only the count is shown.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

Progress = Callable[[str, int, int], None]


class Reporter(Protocol):
    """A progress callable that can also clear its line when the work ends."""

    def __call__(self, phase: str, done: int, total: int) -> None: ...

    def close(self) -> None: ...


class Silent:
    """The reporter for pipes, files and machine-readable formats."""

    def __call__(self, phase: str, done: int, total: int) -> None:
        """Ignore the report."""

    def close(self) -> None:
        """Nothing was drawn, so there is nothing to clear."""


class TtyProgress:
    """Draws ``phase: done/total`` on one terminal line, at most ten times a second."""

    def __init__(
        self,
        stream: TextIO,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._interval = interval
        self._clock = clock
        self._last = float("-inf")
        self._drawn = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        """Redraw the line unless the last redraw was too recent (the end always shows)."""
        now = self._clock()
        finished = total > 0 and done >= total
        if not finished and now - self._last < self._interval:
            return
        self._last = now
        count = f"{done}/{total}" if total > 0 else str(done)
        self._stream.write(f"\r\x1b[K{phase}: {count}")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Erase the progress line so that the real output starts on a clean line."""
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False


def reporter(output_format: str, stream: TextIO | None = None) -> Reporter:
    """The reporter for this run: drawing on a terminal for text output, else silent."""
    stream = sys.stderr if stream is None else stream
    if output_format != "text" or not _isatty(stream):
        return Silent()
    return TtyProgress(stream)


def _isatty(stream: TextIO) -> bool:
    """True if the stream is a terminal (False for closed or odd streams)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
