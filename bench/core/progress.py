"""Progress display: a rich bar on a terminal, a few plain log lines elsewhere (CI, files).

Off a terminal a line says how far, how long and how long still; the status (the
bar's caption) is left out, because the callers that pass one log those facts
themselves (training logs every epoch's metrics), and a log should say each once.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("bench")

LOG_EVERY = 10.0  # seconds between progress lines off a terminal


class Progress:
    def __init__(self, total: int, description: str, *, enabled: bool = True) -> None:
        self.total = total
        self.description = description
        self.done = 0
        self._bar = None
        self._enabled = enabled
        self._start = time.monotonic()
        self._last_log: float | None = None

    def __enter__(self) -> "Progress":
        self._start = time.monotonic()
        if self._enabled and sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
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
            return
        if not self._enabled or n <= 0:
            return
        now = time.monotonic()
        if self._last_log is None or now - self._last_log > LOG_EVERY:
            self._last_log = now
            log.info("%s", self.line(now - self._start))

    def line(self, elapsed: float) -> str:
        """`extracting clips: 120/500 (24%) after 31 s`; no estimate of the rest, because
        a resumed job's first step counts work done by an earlier process."""
        text = f"{self.description}: {self.done:,}/{self.total:,}"
        if self.total > 0:
            text += f" ({self.done / self.total:.0%})"
        return f"{text} after {_duration(elapsed)}"

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()


def _duration(s: float) -> str:
    if s < 60:
        return f"{s:.0f} s"
    minutes, sec = divmod(round(s), 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min {sec:02d} s"
