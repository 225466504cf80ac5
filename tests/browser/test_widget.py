"""The chat widget in Debian's Chromium against the real stack: a conversation over Rasa's socket.io
channel, its history after a reload and in a second tab, customer text that tries to run script,
an agent's markdown that stays safe, the handoff notices, the CSAT stars, the REST fallback, and
what a customer sees when the server does not answer."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, expect

from common import conversation_ids
from supportbot.rasa_client import RasaClient
from tests.browser.conftest import SCREENSHOTS, serving
from tests.stack import API_TOKEN, Stack, free_port

pytestmark = pytest.mark.browser

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_LINK = "[click me](javascript:alert(1))"
TURN_MS = 30_000


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Chat with us").click()
    expect(page.get_by_role("region", name="Support")).to_be_visible()


def transport(page: Page, expected: str) -> None:
    expect(page.locator(".sb-panel")).to_have_attribute("data-transport", expected, timeout=10_000)


def say(page: Page, text: str) -> None:
    """Send like a customer (Enter) and wait until the turn is over and in the transcript."""
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".sb-pending")).to_have_count(0, timeout=TURN_MS)
    expect(page.locator(".sb-typing")).to_be_hidden(timeout=TURN_MS)


def conversation_of(context: BrowserContext) -> str:
    [cookie] = [c for c in context.cookies() if c["name"] == conversation_ids.COOKIE_NAME]
    return cookie["value"].split(".")[0]


def in_thread(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run an async RasaClient call beside Playwright's own event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result(timeout=60)


def watch_dialogs(page: Page) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return dialogs


def test_chat_over_socketio_history_after_a_reload_and_script_that_never_runs(
    browser: Browser, web_url: str, stack: Stack
) -> None:
    context = browser.new_context()
    page = context.new_page()
    dialogs = watch_dialogs(page)
    sockets: list[WebSocket] = []
    sent: list[str] = []

    def on_socket(socket: WebSocket) -> None:
        sockets.append(socket)
        socket.on("framesent", lambda payload: sent.append(str(payload)))

    page.on("websocket", on_socket)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    open_chat(page, f"{web_url}/demo/ada")
    transport(page, "socket")
    say(page, "hello")
    expect(page.locator(".sb-bot").last).to_contain_text("Hi Ada")
    say(page, "track order 100001")
    expect(page.locator(".sb-bot").last).to_contain_text("1Z999AA10123456784")
    say(page, XSS_IMG)
    say(page, XSS_LINK)

    # The messages went over Rasa's socket.io channel, not the web app's REST proxy.
    rasa_port = urlsplit(stack.rasa_url).port
    assert any(f"127.0.0.1:{rasa_port}/socket.io/" in s.url for s in sockets)
    assert sum('"user_uttered"' in frame for frame in sent) == 4
    assert not [url for url in posts if "/api/chat/" in url]

    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text(XSS_IMG)  # shown as text...
    expect(log).to_contain_text(XSS_LINK)
    assert log.locator("img").count() == 0  # ...never as an element
    assert log.locator("a[href^='javascript']").count() == 0
    shown = log.locator(".sb-msg").count()

    page.reload()
    page.get_by_role("button", name="Chat with us").click()
    expect(log.locator(".sb-msg")).to_have_count(shown, timeout=TURN_MS)
    expect(log).to_contain_text("1Z999AA10123456784")
    expect(log).to_contain_text(XSS_IMG)
    assert log.locator("img").count() == 0
    assert dialogs == []
    context.close()


def test_a_second_tab_continues_the_same_conversation(browser: Browser, web_url: str) -> None:
    context = browser.new_context()
    first = context.new_page()
    open_chat(first, f"{web_url}/")
    transport(first, "socket")
    say(first, "hello")

    second = context.new_page()
    open_chat(second, f"{web_url}/")
    first_log = first.get_by_role("log", name="Conversation")
    second_log = second.get_by_role("log", name="Conversation")
    expect(second_log.locator(".sb-msg")).to_have_count(2, timeout=TURN_MS)
    expect(second_log).to_contain_text("hello")
    transport(second, "socket")

    say(second, "what is your return policy?")
    expect(second_log.locator(".sb-bot").last).to_contain_text("30 days")
    # The first tab sees the other tab's message and the answer without reloading.
    expect(first_log).to_contain_text("what is your return policy?", timeout=TURN_MS)
    expect(first_log.locator(".sb-msg")).to_have_count(4, timeout=TURN_MS)
    assert first_log.inner_text() == second_log.inner_text()
    context.close()


def test_an_agents_markdown_is_a_safe_link_and_the_handoff_shows_notices(
    browser: Browser, web_url: str, stack: Stack
) -> None:
    context = browser.new_context()
    page = context.new_page()
    dialogs = watch_dialogs(page)
    open_chat(page, f"{web_url}/")
    transport(page, "socket")
    say(page, "I want to talk to a human")
    banner = page.get_by_text("A person from our team will reply here shortly.")
    expect(banner).to_be_visible()

    # What the console does when Sam claims the conversation, answers and hands it back; each
    # message reaches the open widget at once over socket.io.
    rasa = RasaClient(stack.rasa_url, API_TOKEN)
    conversation = conversation_of(context)
    in_thread(rasa.announce_agent(conversation, "Sam"))
    log = page.get_by_role("log", name="Conversation")
    expect(log.locator(".sb-status-text")).to_have_text(
        "Sam from our team has joined the conversation.", timeout=10_000
    )
    in_thread(
        rasa.post_agent_reply(
            conversation,
            f"Our **returns policy** is [here](https://shop.example/returns). {XSS_LINK} {XSS_IMG}",
            agent_name="Sam",
        )
    )
    reply = log.locator(".sb-agent")
    expect(reply).to_contain_text("Our returns policy is here", timeout=10_000)
    expect(reply.locator(".sb-meta")).to_contain_text("Sam")
    expect(reply.locator("strong")).to_have_text("returns policy")

    def check_links() -> None:
        link = log.get_by_role("link", name="here")
        expect(link).to_have_attribute("href", "https://shop.example/returns")
        expect(link).to_have_attribute("target", "_blank")
        expect(link).to_have_attribute("rel", "noopener noreferrer")
        assert log.locator("img").count() == 0
        assert log.locator("a[href^='javascript']").count() == 0
        assert log.locator("a:not([href])", has_text="click me").count() == 1  # disarmed

    check_links()
    say(page, "thanks, that helps")  # logged while a person has the conversation; no bot reply
    expect(banner).to_be_visible()

    in_thread(rasa.resume(conversation))
    expect(log.locator(".sb-status").last).to_contain_text(
        "back with the assistant", timeout=10_000
    )
    expect(banner).to_be_hidden()

    shown = log.locator("li").count()
    page.reload()
    page.get_by_role("button", name="Chat with us").click()
    expect(log.locator("li")).to_have_count(shown, timeout=TURN_MS)
    expect(log.locator(".sb-status")).to_have_count(2)
    check_links()
    assert dialogs == []
    context.close()


def test_the_csat_prompt_is_a_row_of_stars_and_the_keyboard_works(
    browser: Browser, web_url: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    open_chat(page, f"{web_url}/demo/ada")
    expect(page.get_by_label("Your message")).to_be_focused()
    transport(page, "socket")
    say(page, "hello")
    say(page, "track order 100001")
    say(page, "thanks, bye")

    rating = page.get_by_role("group", name="Rate this conversation")
    expect(rating).to_be_visible()
    for stars in range(1, 6):
        label = f"{stars} star{'s' if stars > 1 else ''} out of 5"
        expect(rating.get_by_role("button", name=label, exact=True)).to_be_visible()
    expect(rating.get_by_role("button", name="Skip")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget.png"))

    rating.get_by_role("button", name="5 stars out of 5").focus()
    page.keyboard.press("Enter")
    log = page.get_by_role("log", name="Conversation")
    expect(log.locator(".sb-customer .sb-text").last).to_have_text("5", timeout=TURN_MS)
    expect(log.locator(".sb-bot").last).to_contain_text("anything we could do better")
    expect(rating.get_by_role("button", name="5 stars out of 5")).to_be_disabled()
    page.get_by_role("button", name="No comment").click()
    expect(log.locator(".sb-bot").last).to_contain_text("Thanks for your feedback", timeout=TURN_MS)
    expect(page.get_by_label("Your message")).to_be_focused()
    context.close()


def test_rest_fallback_when_the_socket_is_unreachable(browser: Browser, stack: Stack) -> None:
    dead_socket = replace(stack.web_settings(), socket_url=f"http://127.0.0.1:{free_port()}")
    with serving(dead_socket, free_port()) as url:
        context = browser.new_context()
        page = context.new_page()
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        open_chat(page, f"{url}/demo/ada")
        transport(page, "rest")
        say(page, "hello")
        expect(page.locator(".sb-bot").last).to_contain_text("Hi Ada")
        assert posts == [f"{url}/api/chat/messages"]
        context.close()


def test_the_channel_refuses_a_forged_session(browser: Browser, web_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    open_chat(page, f"{web_url}/")
    transport(page, "socket")
    socket_url = page.evaluate("() => fetch('/api/chat/session').then(r => r.json())")["socket_url"]
    outcome = page.evaluate(
        """([url, session]) => new Promise((resolve) => {
             const socket = io(url, { transports: ["websocket"], reconnection: false });
             socket.on("connect", () => socket.emit("session_request", { session_id: session }));
             socket.on("session_confirm", () => resolve("confirmed"));
             socket.on("disconnect", () => resolve("refused"));
             setTimeout(() => resolve("no answer"), 8000);
           })""",
        [socket_url, "0123456789abcdef0123456789abcdef.forged"],
    )
    assert outcome == "refused"
    context.close()


def test_a_server_that_does_not_answer_gets_a_clear_notice_and_retry(
    browser: Browser, stack: Stack
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    rasa_down = replace(stack.web_settings(), rasa_url=dead, socket_url=dead)
    with serving(rasa_down, free_port()) as url:
        context = browser.new_context()
        page = context.new_page()
        open_chat(page, f"{url}/")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("The assistant is not available right now.")
        expect(alert.get_by_role("button", name="Retry")).to_be_visible()
        text = page.locator(".sb-panel").inner_text()
        assert "Traceback" not in text and "Error" not in text and "undefined" not in text
        context.close()


def test_nothing_typed_is_lost_while_the_web_app_is_down(browser: Browser, stack: Stack) -> None:
    settings = replace(stack.web_settings(), socket_url=f"http://127.0.0.1:{free_port()}")
    port = free_port()
    context = browser.new_context()
    page = context.new_page()
    with serving(settings, port) as url:
        open_chat(page, f"{url}/demo/ada")
        transport(page, "rest")
        say(page, "hello")

    page.get_by_label("Your message").fill("track order 100001")
    page.get_by_label("Your message").press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("We can't reach the assistant.")
    expect(page.get_by_label("Your message")).to_have_value("track order 100001")
    expect(page.locator(".sb-pending")).to_have_count(0)

    with serving(settings, port):
        alert.get_by_role("button", name="Retry").click()
        expect(page.locator(".sb-bot").last).to_contain_text("1Z999AA10123456784", timeout=TURN_MS)
        expect(alert).to_be_hidden()
        expect(page.get_by_label("Your message")).to_have_value("")
    context.close()


def test_the_phone_layout_is_a_full_screen_panel(browser: Browser, web_url: str) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 700}, is_mobile=True)
    page = context.new_page()
    open_chat(page, f"{web_url}/demo/grace")
    transport(page, "socket")
    say(page, "hello")
    say(page, "bye")
    expect(page.get_by_role("group", name="Rate this conversation")).to_be_visible()
    box = page.locator(".sb-panel").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 375, "height": 700}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-mobile.png"))

    page.keyboard.press("Escape")
    expect(page.locator(".sb-panel")).to_be_hidden()
    expect(page.get_by_role("button", name="Chat with us")).to_be_focused()
    context.close()


def test_a_shared_browser_shows_no_one_the_previous_customers_conversation(
    browser: Browser, web_url: str
) -> None:
    """Issue 15, in Chromium: Grace, then Ada, then an anonymous visitor on one browser."""
    context = browser.new_context()
    page = context.new_page()
    log = page.get_by_role("log", name="Conversation")

    open_chat(page, f"{web_url}/demo/grace")
    say(page, "show my invoices")
    expect(log).to_contain_text("INV-500002")
    graces = conversation_of(context)

    open_chat(page, f"{web_url}/demo/ada")  # Ada logs in on the same browser
    expect(log.locator(".sb-hint")).to_be_visible()  # an empty conversation, not Grace's
    say(page, "show my invoices")
    expect(log).to_contain_text("INV-500001")
    expect(log).not_to_contain_text("INV-500002")
    adas = conversation_of(context)

    open_chat(page, web_url)  # Ada leaves; the next person opens the anonymous shop page
    expect(log.locator(".sb-hint")).to_be_visible()
    say(page, "show my invoices")
    expect(log).not_to_contain_text("INV-50000")
    assert len({graces, adas, conversation_of(context)}) == 3
    context.close()
