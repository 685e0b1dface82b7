"""What the CLI's clients treat as transient, and how they back off: one policy for `load` and `verify`.

A pod replaced in a rolling update closes its keep-alive connections, and kube-proxy routes to a new pod a
moment after it is Ready; either way a request may break or meet a gateway error although the service is fine.
Four tries, 0.25 s, 0.5 s and 1 s apart, outlast that window and stay shorter than a user's patience.
"""

from __future__ import annotations

ATTEMPTS = 4
BACKOFF_SECONDS = 0.25
STATUSES = frozenset({502, 503, 504})


def backoff(attempt: int) -> float:
    """Seconds to wait before try number `attempt` (0 for the first)."""
    return BACKOFF_SECONDS * 2 ** (attempt - 1) if attempt else 0.0
