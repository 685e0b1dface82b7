"""A py-spy profile in a few lines: where the hottest process spends its samples, by job and by function.

`py-spy record --format raw` writes one collapsed stack per line ("frame;frame;... count"). The summary
attributes each sample to the first job it recognises in the stack (an HTTP request, the consumer, the
relay, the database driver's thread...), and lists the functions with the most samples of their own.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

# (job, marker in a frame): the first marker found from the root of the stack names the sample's job.
JOBS = (
    ("database driver thread", "_connection_worker_thread"),
    ("worker threads (sync code)", "WorkerThread.run"),
    ("HTTP requests", "run_asgi"),
    ("HTTP parsing", "HttpToolsProtocol"),
    ("consumer", "EventConsumer.run"),
    ("outbox relay", "OutboxRelay"),
    ("long-poll watcher", "OrderWatcher"),
    ("producer", "EventProducer"),
    ("Kafka client", "aiokafka"),
    ("SQLAlchemy (greenlet)", "sqlalchemy"),
)
_FRAME = re.compile(r"^(?P<name>.*?) \((?P<path>.*?)(?::\d+)?\)$")


def _function(frame: str) -> str:
    match = _FRAME.match(frame)
    if match is None:
        return frame
    return f"{match['name']} ({'/'.join(match['path'].rsplit('/', 2)[-2:])})"


def profile_summary(raw: str, top: int = 15) -> dict[str, Any]:
    """Shares (percent of samples) by job and the `top` functions by own samples."""
    jobs: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = stack.split(";")
        job = next((name for name, marker in JOBS if marker in stack), "event loop and other")
        jobs[job] += samples
        own[_function(frames[-1])] += samples
    if not total:
        return {"samples": 0, "jobs": {}, "functions": {}}

    def share(counter: Counter[str], limit: int | None = None) -> dict[str, float]:
        return {name: round(100 * n / total, 1) for name, n in counter.most_common(limit)}

    return {"samples": total, "jobs": share(jobs), "functions": share(own, top)}
