"""Admin HTTP API: set and read the stock of a SKU."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field

from eventkit.host.context import Context
from eventkit.vocabulary import IDENTIFIER_LENGTH, NOT_A_BOOL
from services.inventory import repository
from services.inventory.domain import StockLevel

router = APIRouter(tags=["stock"])

Sku = Annotated[str, Path(min_length=1, max_length=IDENTIFIER_LENGTH)]

# Far below the 64-bit column's 9.2e18, so that releases adding reserved units back on top still fit.
MAX_STOCK = 10**15


class StockUpdate(BaseModel):
    available: Annotated[
        int, Field(ge=0, le=MAX_STOCK, description="Units on hand and not reserved by any order"), NOT_A_BOOL
    ]


async def _known_stock(sku: Sku, context: Context) -> StockLevel:
    async with context.sessions() as session:
        level = await repository.stock_level(session, sku)
    if level is None:
        raise HTTPException(status_code=404, detail=f"no stock recorded for SKU {sku!r}")
    return level


KnownStock = Annotated[StockLevel, Depends(_known_stock)]


@router.put("/stock/{sku}", summary="Set the available stock of a SKU (creates the SKU if new)")
async def put_stock(sku: Sku, update: StockUpdate, context: Context) -> StockLevel:
    async with context.sessions.begin() as session:
        await repository.set_available(session, sku, update.available)
        level = await repository.stock_level(session, sku)
    assert level is not None  # written just above, in the same transaction
    return level


@router.get(
    "/stock/{sku}",
    summary="Available and reserved units of a SKU",
    responses={404: {"description": "No stock was ever recorded for this SKU"}},
)
async def get_stock(level: KnownStock) -> StockLevel:
    return level
