"""What the bulk jobs (clinic imports, change feeds) share about the process they run in."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, back on (if it was) when it ends.

    A bulk job builds hundreds of thousands of small objects it keeps until the end (rows, people, diffs,
    audit entries). The collector runs every 700 net allocations and each full pass walks all of them again:
    for a 50,000-change file that was 2 of its 5 seconds of CPU. The jobs make no reference cycles of
    their own; what the block frees by reference counting is freed as usual, and anything cyclic is
    collected after it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
