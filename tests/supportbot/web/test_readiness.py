"""GET /readyz: ready only when the CRM database and Rasa (with its model) answer; otherwise 503,
naming the part that is missing and never where it lives."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from supportbot.rasa_client import RasaClient
from supportbot.web.app import create_app
from tests.stack import free_port
from tests.supportbot.web.conftest import RASA_TOKEN, make_settings


def _rasa(status: int, model_file: str | None) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/status":
            return httpx.Response(404)
        return httpx.Response(status, json={"model_file": model_file})

    return httpx.MockTransport(handle)


def _readiness(database_url: str, rasa: httpx.MockTransport) -> httpx.Response:
    settings = make_settings(database_url=database_url)
    client = RasaClient("http://rasa.test", RASA_TOKEN, transport=rasa)
    return TestClient(create_app(settings, rasa=client)).get("/readyz")


@pytest.fixture
def crm_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crm.db'}"


def test_ready_when_the_crm_and_rasa_answer(crm_url: str) -> None:
    response = _readiness(crm_url, _rasa(200, "supportbot.tar.gz"))
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"crm": "ok", "assistant": "ok"}}


def test_an_unreachable_crm_database_is_named_without_its_address(crm_url: str) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    url = f"postgresql+psycopg2://crm:crm-password-0123@{nowhere}/crm"
    response = _readiness(url, _rasa(200, "supportbot.tar.gz"))
    assert response.status_code == 503
    assert response.json()["checks"]["crm"] == "the CRM database is unreachable (OperationalError)"
    assert nowhere not in response.text and "password" not in response.text


@pytest.mark.parametrize(
    ("status", "model_file", "reason"),
    [
        (200, None, "Rasa has not loaded its model yet"),
        (500, None, "Rasa is not answering (RasaUnavailable)"),
        (401, None, "Rasa is not answering (RasaRequestError)"),
    ],
)
def test_rasa_without_a_model_or_failing_is_not_ready(
    crm_url: str, status: int, model_file: str | None, reason: str
) -> None:
    response = _readiness(crm_url, _rasa(status, model_file))
    assert response.status_code == 503
    assert response.json() == {"ready": False, "checks": {"crm": "ok", "assistant": reason}}
