from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from shuzhi import __version__
from shuzhi.api.deps import get_db
from shuzhi.storage.db import Database

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    database: str


@router.get("/health", response_model=Health)
def health(db: Annotated[Database, Depends(get_db)]) -> Health:
    db.check_connection()
    return Health(status="ok", version=__version__, database=db.dialect)
