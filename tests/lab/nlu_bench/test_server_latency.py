"""The parse-latency benchmark's plumbing, against a stand-in Rasa (no timing is asserted)."""

from __future__ import annotations

import json

import httpx
import pytest

from lab.nlu_bench.server_latency import held_out_messages, measure


def test_held_out_messages_are_the_plain_text_customers_typed() -> None:
    messages = held_out_messages()
    assert len(messages) > 200
    assert "could you look up order 100777 for me" in messages
    assert not any("](" in m or "]{" in m for m in messages)


def test_every_message_is_parsed_each_round_with_the_token() -> None:
    seen: list[tuple[str, str | None]] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        assert "token" not in request.url.params
        seen.append((json.loads(request.content)["text"], request.headers.get("authorization")))
        return httpx.Response(200, json={"intent": {"name": "greet"}})

    result = measure(
        "http://rasa",
        "secret",
        ["hi", "bye"],
        rounds=3,
        warmup=1,
        log=lambda _: None,
        transport=httpx.MockTransport(rasa),
    )

    assert result.messages == 6
    assert [text for text, _ in seen] == ["hi"] + ["hi", "bye"] * 3
    assert {token for _, token in seen} == {"Bearer secret"}
    assert 0 < result.p50_ms <= result.p95_ms


def test_a_refusing_server_is_an_error_not_a_timing() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(401, json={}))
    with pytest.raises(ValueError, match="401"):
        measure("http://rasa", None, ["hi"], log=lambda _: None, transport=transport)
