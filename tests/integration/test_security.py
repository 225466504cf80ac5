"""Issue 15's attacks, replayed against the real stack: the Rasa and action servers as
`supportbot run` starts them (tests/stack.py), and the real web app served over HTTP by uvicorn.
Each is refused: 401, 403, 404, 413, 422, 429, no data, or a lock.

Where each confirmed hole of the issue is replayed (here unless another module is named):
1. the action server open to anyone: `test_the_action_server_*`;
2. verification without a lockout: `test_guessing_order_numbers_*`;
3. a shared browser: test_identity.py (Grace, then Ada, then an anonymous visitor; /restart);
4. Rasa's REST channel, its caps and token: test_rasa_port.py, and `test_the_api_token_*`; the
   quadratic email pattern: tests/assistant/test_entity_patterns.py;
5. the legacy bearer agent API: `test_the_bearer_agent_api_*`;
6. demo pages on by default: `test_demo_pages_*`;
7. no rate limits, bodies read whole: `test_thirty_logins_*`, `test_a_five_megabyte_*`;
8. headers, a trailing newline: `test_personal_data_*`, `test_a_sender_id_*`;
9. a part that hangs: test_faults.py;
10. dependencies: `test_the_rasa_server_runs_a_socketio_*`, and `make audit`.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from supportbot.store import crm_session
from tests.stack import (
    ACTION_SECRET,
    API_TOKEN,
    RASA_PYTHON,
    Stack,
    agent_token,
    free_port,
    seeded_customer,
    serving,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web(stack: Stack) -> Iterator[str]:
    """The web app as `supportbot run` serves it by default: demo pages off."""
    settings = dataclasses.replace(stack.web_settings(), demo_pages=False)
    with serving(settings, free_port()) as url:
        yield url


def text_of(replies: list[dict[str, object]]) -> str:
    return " ".join(str(reply.get("text") or "") for reply in replies)


def forged_tracker(sender: str, action: str, slots: dict[str, object]) -> dict[str, object]:
    """What an attacker posts to the action server's webhook in Rasa's place."""
    return {
        "next_action": action,
        "sender_id": sender,
        "tracker": {
            "sender_id": sender,
            "slots": slots,
            "latest_message": {"text": "100002", "intent": {"name": "inform"}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": "track_order_form"},
            "latest_action_name": "action_listen",
        },
        "domain": {},
        "version": "3.6.21",
    }


def test_the_action_server_answers_only_rasa(stack: Stack) -> None:
    webhook = f"{stack.action_url}/webhook"
    verified = "it-security-bound-0001"
    email, order = seeded_customer(stack.crm_url, 1)
    stack.say(verified, "where is my order?")
    stack.say(verified, str(order))
    assert "you're verified" in text_of(stack.say(verified, email))

    # The forgeries: order guessing with a reset counter, and a bound sender's invoices.
    guess = forged_tracker("it-security-forger", "validate_track_order_form", {"email": email})
    invoices = forged_tracker(verified, "action_show_invoices", {})
    for body in (guess, invoices):
        response = httpx.post(webhook, json=body, timeout=10)
        assert response.status_code == 401
        assert "INV-" not in response.text and email not in response.text
    wrong = httpx.post(
        webhook, json=invoices, headers={"Authorization": "Bearer not-the-secret"}, timeout=10
    )
    assert wrong.status_code == 401
    assert httpx.get(f"{stack.action_url}/actions", timeout=10).status_code == 401

    # A malformed body, even with the secret, gets an answer that echoes nothing of it.
    canary = "canary-grace@example.com-4111111111111111"
    malformed = httpx.post(
        webhook,
        content=f'{{"next_action": "{canary}", ',
        headers={"Authorization": f"Bearer {ACTION_SECRET}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert malformed.status_code >= 400
    assert canary not in malformed.text and "grace" not in malformed.text


def test_the_action_server_listens_on_loopback_only(stack: Stack) -> None:
    port = int(stack.action_url.rsplit(":", 1)[1])
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                listening.append(local.rsplit(":", 1)[0])
    # 127.0.0.1 in /proc's little-endian hex; never 00000000 (0.0.0.0) or :: (all of IPv6).
    assert listening == ["0100007F"]


def test_guessing_order_numbers_for_an_email_ends_in_a_lock(stack: Stack) -> None:
    """Ten wrong order numbers for a customer's email as fast as the bot answers (Grace's in the
    issue; here one no other test verifies), then the real one: never verified. The real one is
    sent right after a counted failure, so it always falls inside the wait that failure started
    (at least 2 s; a turn takes a fraction of that)."""
    sender = "it-security-guesser-0001"
    email, order = seeded_customer(stack.crm_url, 2)
    said: list[str] = []
    asking = False  # the form is waiting for an order number

    def attempt(order: int) -> str:
        nonlocal asking
        if not asking:
            said.append(text_of(stack.say(sender, "where is my order?")))
        said.append(text_of(stack.say(sender, str(order))))
        reply = text_of(stack.say(sender, email))
        said.append(reply)
        asking = "Let's try again" in reply
        return reply

    wrong = iter(range(199000, 199999))  # no such orders: every guess is wrong
    for _ in range(10):
        attempt(next(wrong))
    deadline = time.monotonic() + 90
    while "don't match" not in attempt(next(wrong)):  # refused tries are not even checked
        assert time.monotonic() < deadline, "no try was checked for 90 s"
    attempt(order)

    assert not any("you're verified" in reply for reply in said)
    assert any("I couldn't verify that the order is yours" in reply for reply in said)
    with crm_session(stack.crm_url) as crm:
        assert crm.interactions.verified_customer_id(sender) is None
    assert "INV-" not in text_of(stack.say(sender, "/get_invoice"))


def test_the_bearer_agent_api_is_gone(stack: Stack, web: str) -> None:
    sender = "it-security-phish-0001"
    stack.say(sender, "hello")
    phishing = {"text": "Your account is locked: [verify here](https://evil.example/login)"}
    for token in ("integration-agent-token-0123456789", API_TOKEN):
        response = httpx.post(
            f"{web}/api/agent/conversations/{sender}/messages",
            json={**phishing, "agent_name": "Security Team"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert response.status_code == 404
        # The console's route wants a signed-in agent who claimed the conversation.
        console = httpx.post(
            f"{web}/api/console/conversations/{sender}/messages",
            json=phishing,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert console.status_code == 401
    texts = [e.get("text") for e in stack.tracker(sender)["events"] if e.get("event") == "bot"]
    assert not any("evil.example" in (text or "") for text in texts)


def test_demo_pages_are_off_by_default(web: str) -> None:
    for customer in ("ada", "grace"):
        response = httpx.get(f"{web}/demo/{customer}", timeout=10)
        assert response.status_code == 404
        assert "data-customer-token" not in response.text


def test_thirty_logins_in_a_row_are_cut_off_with_retry_after(web: str) -> None:
    statuses = []
    for attempt in range(30):
        response = httpx.post(
            f"{web}/api/console/login",
            json={"email": f"nobody{attempt}@support.test", "password": "wrong-password-123"},
            timeout=10,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) > 0
            break
    assert statuses[-1] == 429 and len(statuses) < 30
    assert set(statuses[:-1]) == {401}


def test_a_five_megabyte_body_is_refused_before_it_is_read(web: str) -> None:
    body = json.dumps({"text": "x" * (5 * 1024 * 1024)})
    response = httpx.post(
        f"{web}/api/chat/messages",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413


def test_personal_data_is_never_cached(web: str) -> None:
    with httpx.Client(base_url=web, timeout=60) as browser:
        sent = browser.post("/api/chat/messages", json={"text": "hello"})
        history = browser.get("/api/chat/messages")
    for response in (sent, history):
        assert response.status_code == 200
        assert "no-store" in response.headers["cache-control"]
        assert response.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in response.headers  # plain http: no HSTS


def test_a_sender_id_with_a_trailing_newline_is_refused_not_a_500(stack: Stack, web: str) -> None:
    """Past the guard (an agent's read token), the id check itself answers."""
    token = agent_token(
        stack.crm_url, "it-reader@support.test", "Kim Reader", ["conversations:read"]
    )
    reader_headers = {"Authorization": f"Bearer {token}"}
    response = httpx.get(
        f"{web}/api/console/conversations/abc%0A", headers=reader_headers, timeout=10
    )
    assert response.status_code == 422
    assert httpx.get(
        f"{web}/api/console/conversations/abc", headers=reader_headers, timeout=10
    ).status_code in (200, 404)


def test_the_api_token_is_on_no_command_line(stack: Stack) -> None:
    for process in (stack.rasa, stack.actions):
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert API_TOKEN.encode() not in command_line
        assert ACTION_SECRET.encode() not in command_line


def test_the_rasa_server_runs_a_socketio_without_the_published_dos() -> None:
    version = subprocess.run(
        [
            str(RASA_PYTHON),
            "-c",
            "import importlib.metadata as m; print(m.version('python-socketio'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert tuple(int(part) for part in version.split(".")[:3]) >= (5, 16, 2)
