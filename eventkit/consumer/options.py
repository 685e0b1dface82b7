"""Tuning of the consumer runtime, from `ORDERFLOW_CONSUMER_*` (the `consumer` block of the service settings)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ConsumerOptions(BaseModel):
    batch_size: int = Field(500, gt=0, description="Records per poll, applied in one transaction")
    retry_levels: int = Field(3, ge=0, description="Retry topics before the dead-letter topic")
    retry_backoff_seconds: float = Field(1.0, ge=0, description="Delay of retry level 1; x4 per level")
    liveness_seconds: float = Field(
        60.0, gt=0, description="No poll, or lag without a fetched record, for this long fails /livez"
    )
    lag_interval_seconds: float = Field(10.0, gt=0, description="How often the lag gauge is refreshed")
    # A fetch waits up to this long for `fetch_min_bytes` instead of returning each record as it comes: under
    # load that means fewer, larger batches (fewer broker requests, more work per transaction) for a few ms.
    fetch_max_wait_ms: int = Field(20, ge=0, description="Longest wait of a fetch for fetch_min_bytes")
    fetch_min_bytes: int = Field(16384, ge=1, description="Bytes a fetch waits for (up to fetch_max_wait_ms)")
    metadata_refresh_seconds: float = Field(
        30.0, gt=0, description="How often topic metadata is refreshed (a newly created topic is seen within it)"
    )
