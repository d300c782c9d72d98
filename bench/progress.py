"""Progress display: a rich bar on a terminal, a few log lines elsewhere (CI, files)."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("bench")


class Progress:
    def __init__(self, total: int, description: str, *, enabled: bool = True) -> None:
        self.total = total
        self.description = description
        self.done = 0
        self._bar = None
        self._enabled = enabled
        self._last_log = 0.0

    def __enter__(self) -> "Progress":
        if self._enabled and sys.stderr.isatty():
            from rich.progress import (BarColumn, MofNCompleteColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.description, total=self.total)
        return self

    def advance(self, n: int = 1, status: str = "") -> None:
        self.done += n
        if self._bar is not None:
            desc = f"{self.description} {status}".rstrip()
            self._bar.update(self._task, advance=n, description=desc)
        elif self._enabled and time.monotonic() - self._last_log > 10:
            self._last_log = time.monotonic()
            log.info("%s: %d/%d %s", self.description, self.done, self.total, status)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
