"""What the load benchmark's customers post: signed for the project's channel, plain for the
stock bot's `rest` channel."""

from __future__ import annotations

import json

from common.channel_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_request
from lab.load.customers import customer_message

SECRET = "load-test-session-secret-0123456789"


def test_a_message_to_the_project_bot_is_signed_over_its_body() -> None:
    sent = customer_message("c0-0-abc", "where is my order?", SECRET)
    headers = sent["headers"]
    assert headers["Content-Type"] == "application/json"
    assert verify_request(
        sent["content"], headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], SECRET
    )
    assert json.loads(sent["content"])["sender"] == "c0-0-abc"


def test_a_message_to_the_stock_bot_is_plain_json() -> None:
    assert customer_message("c0-0-abc", "hi", None) == {
        "json": {"sender": "c0-0-abc", "message": "hi"}
    }
