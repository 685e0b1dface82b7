"""Which events inventory reacts to; the shared consumer runtime does the polling, inbox and retries."""

from collections.abc import Mapping

from eventkit.consumer import Handler
from eventkit.events import EventData, OrderCancelled, OrderPlaced
from services.inventory.handlers import release_stock, reserve_stock

HANDLERS: Mapping[type[EventData], Handler] = {
    OrderPlaced: reserve_stock,
    OrderCancelled: release_stock,
}
