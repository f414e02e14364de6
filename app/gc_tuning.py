"""The garbage collector's tuning, shared by the app's processes and the rescore helpers."""

from __future__ import annotations

import gc

_tuned = False
GC_THRESHOLDS = (50_000, 10, 10)
"""The collector's thresholds once the app has started (Python's default is (700, 10, 10)).

Open websockets keep many objects alive, and each visit allocates a few hundred more that
live a second or so. With the default first threshold those survive a dozen young
collections, are promoted, and bring on a full collection every few seconds: 0.4-0.6 s with
2,000 open sockets on this project's 2-core test machine, the p99 of a booth arrival. With
50,000, a visit's objects are freed by reference counting before a young collection looks
at them, and none reaches the old generation (bench/ws_fanout.py presence: no collection at
all in 7 s of 40 visits a second; join p99 58 ms instead of 130-900 ms). Memory held by
unreachable cycles stays bounded by the threshold's 50,000 objects.
"""


def tune_gc() -> None:
    """Once per process, after startup: move what startup built (modules, routes, mappers:
    about 200,000 objects) out of the collector's way (`gc.freeze`) and set GC_THRESHOLDS.
    Rescore helper processes do the same once started (`app.leads.rescore`)."""
    global _tuned
    if not _tuned:
        _tuned = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
