"""Map a function over items in worker processes (one per core), in order, lazily."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterator, Sequence, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _init_worker() -> None:
    import torch

    # each process gets one core; torch's own threads would oversubscribe them
    torch.set_num_threads(1)


def pmap(fn: Callable[[T], R], items: Sequence[T], *, workers: int = 0, min_parallel: int = 48,
         chunksize: int = 8) -> Iterator[R]:
    """Results of `fn` over `items` in order; serial below `min_parallel` items.

    Workers are spawned, not forked: forking a process that holds torch's thread
    pools (or a CUDA context) can deadlock.
    """
    n_workers = workers or os.cpu_count() or 1
    if n_workers > 1 and len(items) >= min_parallel:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker) as pool:
            yield from pool.map(fn, items, chunksize=chunksize)
    else:
        yield from map(fn, items)
