"""Issue 15's identity attacks against the real stack (Rasa 3.6.21, the action server, the web
app in front): a shared browser never hands one customer's conversation to the next, and
/restart forgets who the customer was verified as."""

from __future__ import annotations

import httpx
import pytest

from supportbot.store import crm_session
from supportbot.web.app import create_app
from tests.stack import WEB_PORT, Stack, seeded_customer

pytestmark = pytest.mark.integration


def texts(messages: list[dict]) -> str:
    return "\n".join(message.get("text") or "" for message in messages)


async def page_token(web: httpx.AsyncClient, customer: str) -> dict[str, str]:
    """The header the widget sends on a logged-in host page (the demo page's token)."""
    page = (await web.get(f"/demo/{customer}")).text
    return {"X-Customer-Token": page.split('data-customer-token="', 1)[1].split('"', 1)[0]}


async def say(web: httpx.AsyncClient, text: str, headers: dict[str, str] | None = None) -> str:
    response = await web.post("/api/chat/messages", json={"text": text}, headers=headers or {})
    assert response.status_code == 200, response.text
    return texts(response.json()["messages"])


async def test_a_shared_browser_never_hands_one_customers_conversation_to_the_next(
    stack: Stack,
) -> None:
    app = create_app(stack.web_settings())
    # One browser: one cookie jar, used by Grace, then Ada, then an anonymous visitor.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=f"http://127.0.0.1:{WEB_PORT}", timeout=60
    ) as browser:
        grace, ada = await page_token(browser, "grace"), await page_token(browser, "ada")
        assert "INV-500002" in await say(browser, "show my invoices", grace)

        # Ada logs in on the same browser: her own invoices, in a conversation of her own.
        adas = await say(browser, "show my invoices", ada)
        assert "INV-500001" in adas and "INV-500002" not in adas
        history = (await browser.get("/api/chat/messages", headers=ada)).json()["messages"]
        assert "INV-500002" not in texts(history)

        # Ada leaves; the next person opens the shop's anonymous page.
        assert (await browser.get("/api/chat/messages")).json()["messages"] == []
        anonymous = await say(browser, "show my invoices")
        assert "INV-50000" not in anonymous
        assert "order number" in anonymous  # asked to verify, like any stranger


def test_restart_forgets_the_verified_customer(stack: Stack) -> None:
    sender = "it-restart-0001"
    email, order = seeded_customer(stack.crm_url, 0)
    stack.say(sender, "where is my order?")
    stack.say(sender, str(order))
    assert "you're verified" in texts(stack.say(sender, email))

    stack.say(sender, "/restart")

    reply = texts(stack.say(sender, "show my invoices"))
    assert "INV-" not in reply and "order number" in reply
    with crm_session(stack.crm_url) as crm:
        assert crm.interactions.verified_customer_id(sender) is None
