"""The console's transcript view in front of the real bot: what NLU made of a real message."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import pytest
import yaml

from supportbot.console.auth import Agents
from supportbot.store import crm_session
from supportbot.web.app import create_app
from tests.stack import Stack

pytestmark = pytest.mark.integration
PASSWORD = "insights integration pw"


async def test_the_detail_shows_the_real_intent_confidence_and_sentiment(
    stack: Stack, tmp_path: Path
) -> None:
    sender = "it-console-insights-0001"
    assert stack.say(sender, "where is my order?")
    with crm_session(stack.crm_url) as crm:
        Agents(crm.session).create("insights@support.test", "Ines", PASSWORD)
    review_file = tmp_path / "nlu_review.yml"
    settings = dataclasses.replace(stack.web_settings(), review_file=review_file)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)),
        base_url="http://testserver",
        timeout=60,
    ) as web:
        login = await web.post(
            "/api/console/login", json={"email": "insights@support.test", "password": PASSWORD}
        )
        assert login.status_code == 200
        detail = (await web.get(f"/api/console/conversations/{sender}")).json()

        [customer] = [t for t in detail["turns"] if t["kind"] == "customer"]
        assert customer["text"] == "where is my order?"
        assert customer["intent"] == "track_order"
        assert 0.5 < customer["confidence"] <= 1.0
        assert customer["sentiment"]["label"] in {"negative", "neutral", "positive"}
        assert -1.0 <= customer["sentiment"]["score"] <= 1.0
        assert customer["actions"] == ["track_order_form"]
        assert [t["kind"] for t in detail["turns"]] == ["customer", "bot"]
        assert "order number" in detail["turns"][1]["text"]
        assert detail["profile"] is None  # nobody is verified yet
        assert detail["conversation"]["sender_id"] == sender and detail["messages"]

        marked = await web.post(
            f"/api/console/conversations/{sender}/training-examples",
            json={"text": "where is my order?", "intent": "track_order"},
            headers={"Origin": "http://testserver"},
        )
        assert marked.status_code == 201, marked.text
    block = yaml.safe_load(review_file.read_text(encoding="utf-8"))["nlu"][0]
    assert block["examples"] == "- where is my order?\n"
    assert block["metadata"]["conversation"] == sender
