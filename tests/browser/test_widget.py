"""The chat widget in a real browser: a conversation, its history after a reload, and customer
text that tries to run script."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_LINK = "[click me](javascript:alert(1))"


def say(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")
    expect(page.locator(".sb-pending")).to_have_count(0, timeout=30_000)


def test_chat_reload_and_script_that_never_runs(browser: Browser, web_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{web_url}/demo/ada")
    page.get_by_role("button", name="Chat with us").click()
    say(page, "hello")
    expect(page.locator(".sb-bot").last).to_contain_text("Hi Ada")
    say(page, "track order 100001")
    expect(page.locator(".sb-bot").last).to_contain_text("1Z999AA10123456784")
    say(page, XSS_IMG)
    say(page, XSS_LINK)

    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text(XSS_IMG)  # shown as text...
    assert log.locator("img").count() == 0  # ...never as an element
    assert log.locator("a[href^='javascript']").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget.png"))
    shown = log.locator(".sb-msg").count()

    page.reload()
    page.get_by_role("button", name="Chat with us").click()
    expect(log.locator(".sb-msg")).to_have_count(shown, timeout=30_000)
    expect(log).to_contain_text("1Z999AA10123456784")
    assert dialogs == []
    context.close()
