"""A copy of bench's log in a folder (a run's or a trial's run.log)."""

from __future__ import annotations

import logging
from pathlib import Path


def log_to(path: Path) -> logging.Handler:
    """Copy bench's log into `path` until the handler is removed (`stop_logging`)."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("bench")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def stop_logging(handler: logging.Handler) -> None:
    logging.getLogger("bench").removeHandler(handler)
    handler.close()
