"""`GET /readyz`: whether this web app can serve customers now, and if not, which part is missing.

`/healthz` says the process runs; `/readyz` also reaches the CRM database and Rasa (which
answers only with a model loaded, and never while its tracker store cannot be opened at
start). A load balancer sends no customers to an instance that is not ready; an operator reads
which part failed. The answer names the part and the kind of error, never a host or password.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from supportbot.crm.db import get_engine
from supportbot.rasa_client import RasaRequestError, RasaUnavailable
from supportbot.web.dependencies import AppSettings, Rasa

router = APIRouter()

# Each check gives up after this long: a hanging part is as unready as a missing one.
CHECK_TIMEOUT_S = 3.0
READY = "ok"


def _crm_answers(url: str) -> None:
    with get_engine(url or None).connect() as connection:
        connection.execute(text("SELECT 1"))


async def crm_readiness(database_url: str) -> str:
    """ "ok", or why the CRM database cannot be used."""
    try:
        await asyncio.wait_for(asyncio.to_thread(_crm_answers, database_url), CHECK_TIMEOUT_S)
    except TimeoutError:
        return f"the CRM database did not answer within {CHECK_TIMEOUT_S:g} s"
    except SQLAlchemyError as error:
        return f"the CRM database is unreachable ({type(error).__name__})"
    return READY


@router.get("/readyz", include_in_schema=False)
async def readiness(settings: AppSettings, rasa: Rasa) -> JSONResponse:
    checks = {"crm": await crm_readiness(settings.database_url)}
    try:
        loaded = await asyncio.wait_for(rasa.has_model(), CHECK_TIMEOUT_S)
        checks["assistant"] = READY if loaded else "Rasa has not loaded its model yet"
    except (TimeoutError, RasaUnavailable, RasaRequestError) as error:
        checks["assistant"] = f"Rasa is not answering ({type(error).__name__})"
    ready = all(result == READY for result in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
