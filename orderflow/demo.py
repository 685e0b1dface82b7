"""The demo catalog: the SKUs the load generator orders and the stock `orderflow up` gives each of them."""

from __future__ import annotations

SKUS = tuple(f"SKU-{n}" for n in range(1, 21))
DEMO_STOCK = 100_000
PRICES = ("2.50", "4.99", "9.99", "12.00", "19.90")
# More than DEMO_STOCK, at a price within the payment limit: such an order is cancelled out_of_stock.
LARGE_QUANTITY = 900_000
