"""The one loop that drives a segmentation job: for the CLI, the worker and the benchmark.

:func:`drive` answers a :class:`meshseg.pipeline.Job`'s events: progress goes to
``on_progress``, inference requests to ``infer(model_id, tensor)`` (which may
return the labels or an awaitable of them, as onnxruntime-web does in the
browser), and the time each answer took is handed back to the job, so stage
timers count Python work and the driver measures the model runs. Between steps
it yields to the event loop and asks ``cancelled()``, so a host can stop a run
without killing it.
"""

from __future__ import annotations

import asyncio
import inspect
import time

from meshseg.errors import CancelledError


async def drive(job, infer, on_progress=None, cancelled=None):
    """Run `job` to its :class:`~meshseg.events.Result`.

    Parameters
    ----------
    job : meshseg.pipeline.Job
    infer : callable
        ``infer(model_id, tensor) -> labels`` or an awaitable of labels.
    on_progress : callable, optional
        Called with each :class:`~meshseg.events.Progress` event.
    cancelled : callable, optional
        Asked between steps; a true answer raises :class:`~meshseg.errors.CancelledError`.

    Raises
    ------
    CancelledError
        When `cancelled` said so.
    """
    event = job.advance()
    while event.kind != "done":
        await asyncio.sleep(0)  # let the host deliver its messages (a cancel) between steps
        if cancelled is not None and cancelled():
            raise CancelledError(f"cancelled before {event.kind} "
                                 f"{getattr(event, 'stage', '')}".strip())
        if event.kind == "progress":
            if on_progress is not None:
                on_progress(event)
            event = job.advance()
            continue
        started = time.perf_counter()
        labels = infer(event.model_id, event.tensor)
        if inspect.isawaitable(labels):
            labels = await labels
        event = job.advance(labels, seconds=time.perf_counter() - started)
    return event.result


def run(job, infer, on_progress=None, cancelled=None):
    """:func:`drive` for synchronous callers (the CLI, batch workers, the benchmark)."""
    return asyncio.run(drive(job, infer, on_progress, cancelled))
