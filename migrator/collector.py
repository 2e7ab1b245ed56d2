"""The cyclic garbage collector and what lives as long as the command.

A command makes most of its objects once and keeps them to the end: the modules it
imports, Django and the project's migration modules, the graph. The collector finds
no garbage among them, yet walks them all on every full pass, and passes run the more
often the more objects are made: so they are made with it off, then frozen out of it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def long_lived() -> Iterator[None]:
    """What is made inside lives as long as the command: no collection runs while it is
    made, and none walks it again afterwards (it is frozen: ``gc.unfreeze()`` gives it
    back). The collector is then on again if it was on before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
