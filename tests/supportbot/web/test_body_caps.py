"""Body and header caps, replayed as attacks: a 5 MB JSON body to the chat API is refused (413)
before it is read, whether it says its length or comes chunked; an oversized request head is
refused by the server itself (`supportbot web`'s uvicorn options)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import uvicorn
from fastapi.testclient import TestClient

from common.chat_messages import MAX_MESSAGE_LENGTH
from supportbot.web.app import create_app, server_options
from tests.supportbot.web.conftest import FakeRasa, make_settings

FIVE_MB = 5 * 1024 * 1024
CHAT_CAP = make_settings().web_guards.max_chat_body_bytes
TOO_LARGE = {"error": f"Request body too large: at most {CHAT_CAP} bytes"}


def test_a_5_mb_message_is_refused_with_413_and_never_reaches_the_assistant(
    web: TestClient, rasa: FakeRasa
):
    body = b'{"text": "' + b"a" * FIVE_MB + b'"}'
    response = web.post(
        "/api/chat/messages", content=body, headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()) == (413, TOO_LARGE)
    assert response.headers["cache-control"] == "no-store"  # the security headers too
    assert rasa.events == {}


def test_a_message_of_the_largest_allowed_size_still_goes_through(web: TestClient):
    # The worst case: 1000 characters outside the BMP, each escaped by JSON as a surrogate pair
    # (12 bytes), and a customer token of the largest allowed size.
    escaped = "\\ud83d\\ude00" * MAX_MESSAGE_LENGTH
    body = f'{{"text": "{escaped}", "customer_token": "{"t" * 2048}", "after": 0}}'
    assert len(body) < CHAT_CAP
    response = web.post(
        "/api/chat/messages", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["messages"][0]["text"] == "\U0001f600" * MAX_MESSAGE_LENGTH


def test_other_routes_have_the_general_cap(web: TestClient):
    general = make_settings().web_guards.max_body_bytes
    response = web.post(
        "/api/console/login",
        content=b"x" * (general + 1),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    # Under it, the route answers as usual (here: bad JSON).
    assert web.post("/api/console/login", content=b"x" * CHAT_CAP).status_code == 422


async def _post_in_chunks(path: str, chunk: bytes, chunks: int) -> tuple[int, int]:
    """POST a chunked body (no Content-Length) straight to the ASGI app; the status and how
    many chunks the app asked for."""
    app = create_app(make_settings())
    pulled = 0
    statuses: list[int] = []

    async def receive() -> dict[str, object]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < chunks}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))  # type: ignore[call-overload]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    assert len(statuses) == 1
    return statuses[0], pulled


def test_a_chunked_5_mb_body_is_not_read_past_the_cap():
    chunk = b" " * 4096
    status, pulled = asyncio.run(_post_in_chunks("/api/chat/messages", chunk, FIVE_MB // 4096))
    assert status == 413
    assert pulled * len(chunk) <= CHAT_CAP + len(chunk)  # 5 of the 1280 chunks


@pytest.fixture
def served() -> Iterator[int]:
    """The app under uvicorn with `supportbot web`'s options, on a free loopback port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = replace(make_settings(), web_port=port, log_level="ERROR")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), **server_options(settings)))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(10)


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        return connection.recv(4096)


def test_a_declared_5_mb_body_is_refused_before_a_byte_of_it_is_sent(served: int):
    head = (
        "POST /api/chat/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {FIVE_MB}\r\n\r\n"
    )
    answer = _exchange(served, head.encode())  # the body is never sent
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"Request body too large" in answer


def test_an_oversized_request_head_is_refused_by_the_server(served: int):
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 1_000_000
    assert _exchange(served, head + b"\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    normal = _exchange(served, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert normal.startswith(b"HTTP/1.1 200 ")
