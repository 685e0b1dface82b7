"""`ORDERFLOW_*` settings of the orders service."""

from pydantic import Field

from eventkit.host.settings import ServiceSettings


class OrdersSettings(ServiceSettings):
    pending_timeout_seconds: float = Field(60.0, gt=0, description="A PENDING order older than this is cancelled")
    sweep_interval_seconds: float = Field(5.0, gt=0, description="How often the timeout sweeper looks")
    sweep_batch_size: int = Field(500, gt=0, description="Orders cancelled per sweeper transaction")
    wait_poll_seconds: float = Field(0.05, gt=0, description="Database poll period of GET ?wait= long polls")
