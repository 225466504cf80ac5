"""The agent console in a real browser, against the real web app, Rasa and action servers:
sign-in, the filtered list, a transcript with what the bot understood, script in customer data
that never runs, a live takeover between a customer and two agents, and analytics charts under
the strict CSP."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from common import conversation_ids
from supportbot.console.models import ReviewStatus
from tests.browser.conftest import AGENT_PASSWORD, DISABLED_AGENT, SCREENSHOTS
from tests.stack import SESSION_SECRET, Stack, seeded_customer
from tests.supportbot.console.conftest import add_conversation, add_customer

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 800}
SAM, ALEX = "sam@support.test", "alex@support.test"
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_LINK = "[click me](javascript:alert(1))"
REPLY_TIMEOUT = 30_000  # a bot answer or a poll of the other side's view
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
"""


@dataclass
class Window:
    """A browser context and its page, with what the page must never do recorded."""

    context: BrowserContext
    page: Page
    dialogs: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)


@pytest.fixture
def windows(browser: Browser) -> Iterator[Callable[[], Window]]:
    opened: list[Window] = []

    def open_window() -> Window:
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        page = context.new_page()
        window = Window(context, page)
        page.on("dialog", lambda d: (window.dialogs.append(d.message), d.dismiss()))
        page.on(
            "console",
            lambda m: "Content Security Policy" in m.text and window.csp_violations.append(m.text),
        )
        opened.append(window)
        return window

    yield open_window
    for window in opened:
        window.context.close()


@pytest.fixture
def console(web_url: str, console_agents: dict[str, str]) -> str:
    return f"{web_url}/console"


def sign_in(page: Page, console: str, email: str = SAM, route: str = "") -> None:
    page.goto(f"{console}{route}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# --- the customer's side: the widget ------------------------------------------------------


def open_widget(page: Page, url: str) -> Locator:
    page.goto(url)
    page.get_by_role("button", name="Chat with us").click()
    return page.get_by_role("log", name="Conversation")


def type_message(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def send(page: Page, text: str) -> None:
    """Send a message and wait until the conversation has it (answered or not)."""
    type_message(page, text)
    expect(page.locator(".sb-pending")).to_have_count(0, timeout=REPLY_TIMEOUT)


def say(page: Page, text: str) -> None:
    """Send a message and wait for the bot's answer to it."""
    answers = page.locator(".sb-bot").count()
    send(page, text)
    expect(page.locator(".sb-bot").nth(answers)).to_be_visible(timeout=REPLY_TIMEOUT)


def conversation_id(context: BrowserContext) -> str:
    """The widget's conversation (Rasa sender id), from its signed cookie."""
    cookie = next(c for c in context.cookies() if c["name"] == conversation_ids.COOKIE_NAME)
    sender_id = conversation_ids.verify(cookie["value"], SESSION_SECRET)
    assert sender_id is not None
    return sender_id


def signed(score: float) -> str:
    """A score as the console shows it: sign (a true minus), two decimals."""
    sign = "+" if score > 0 else "\u2212" if score < 0 else ""
    return f"{sign}{abs(score):.2f}"


def list_rows(page: Page) -> Locator:
    return page.locator("table.list tbody tr")


def queue_row(page: Page, sender_id: str) -> Locator:
    return page.locator(f'.queue-item[data-sender-id="{sender_id}"]')


def assert_nothing_executable(page: Page) -> None:
    """The console shows no images at all, so any <img> came from data; likewise script links."""
    assert page.locator("img").count() == 0
    assert page.locator("a[href^='javascript' i]").count() == 0
    assert page.locator("[onerror], [onclick], [onload]").count() == 0


# --- tests --------------------------------------------------------------------------------


def test_sign_in_refusals_session_end_and_sign_out(
    windows: Callable[[], Window], console: str
) -> None:
    agent = windows()
    page = agent.page
    page.goto(console)
    expect(page.get_by_role("heading", name="Sign in to the agent console")).to_be_visible()

    page.get_by_label("Email").fill(SAM)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong email or password")

    page.get_by_label("Email").fill(DISABLED_AGENT)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("disabled")

    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_label("Email").fill(SAM)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#agent-name")).to_have_text("Sam Carter")
    nav = page.get_by_role("navigation", name="Console")
    for name in ("Conversations", "Queue", "Analytics"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("heading", name="Conversations")).to_be_visible()

    # The session ends behind the page's back: the next request's 401 brings the login back,
    # and signing in again returns to the view that was asked for.
    agent.context.clear_cookies()
    nav.get_by_role("link", name="Queue").click()
    expect(page.get_by_role("alert")).to_contain_text("session has ended")
    expect(page.get_by_role("navigation", name="Console")).to_be_hidden()
    page.get_by_label("Email").fill(SAM)
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the agent console")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to the agent console")).to_be_visible()
    assert agent.csp_violations == []


def test_filters_narrow_the_list_and_the_link_survives_reload(
    windows: Callable[[], Window], console: str, stack: Stack
) -> None:
    day = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)
    seeded = {
        "listtest-1": {"intents": ["greet", "track_order"], "sentiment": 0.6, "csat": 5},
        "listtest-2": {"intents": ["track_order"], "handoff": True, "sentiment": -0.7},
        "listtest-3": {"intents": ["complaint"], "sentiment": -0.4, "csat": 2},
        "listtest-4": {"intents": ["get_refund"], "tags": ("billing",)},
    }
    for n, (sender_id, values) in enumerate(seeded.items()):
        add_conversation(stack.crm_url, sender_id, started_at=day + timedelta(hours=n), **values)

    page = windows().page
    sign_in(page, console, route="#/conversations")
    page.get_by_label("Search").fill("listtest")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("4 conversations match these filters")).to_be_visible()
    newest_first = ["listtest-4", "listtest-3", "listtest-2", "listtest-1"]
    expect(list_rows(page)).to_have_count(4)
    assert [r.get_attribute("data-sender-id") for r in list_rows(page).all()] == newest_first

    page.get_by_label("Intent").select_option("track_order")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("2 conversations match these filters")).to_be_visible()
    expect(list_rows(page)).to_have_count(2)
    assert [r.get_attribute("data-sender-id") for r in list_rows(page).all()] == newest_first[2:]
    expect(list_rows(page).first).to_contain_text("negative \u22120.70")
    assert re.search(r"q=listtest.*intent=track_order", page.url)

    # The filtered view is a link: reloading it shows the same rows and the same filters.
    page.reload()
    expect(list_rows(page)).to_have_count(2)
    expect(page.get_by_label("Search")).to_have_value("listtest")
    expect(page.get_by_label("Intent")).to_have_value("track_order")

    # The export links carry the filters.
    export = page.get_by_role("link", name="Export CSV").get_attribute("href")
    assert export is not None
    response = page.request.get(f"{console.removesuffix('/console')}{export}")
    assert response.ok
    exported = list(csv.DictReader(io.StringIO(response.text())))
    assert [row["sender_id"] for row in exported] == newest_first[2:]

    page.get_by_label("Handoff").select_option("true")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("1 conversation match these filters")).to_be_visible()
    expect(list_rows(page)).to_have_count(1)

    page.get_by_role("button", name="Clear").click()
    # Clear re-renders the view on the hash change: typing before that would go to the old form.
    expect(page.get_by_label("Search")).to_have_value("")
    expect(page.get_by_label("Handoff")).to_have_value("")
    page.get_by_label("Search").fill("no-such-conversation-anywhere")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No conversations match these filters.")).to_be_visible()

    page.get_by_label("Customer").fill("not an id")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("alert")).to_contain_text("customer")

    # On a phone the page does not scroll sideways; a wide table scrolls inside its frame.
    page.set_viewport_size({"width": 390, "height": 800})
    page.get_by_role("button", name="Clear").click()
    expect(list_rows(page).first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_transcript_shows_what_the_bot_understood(
    windows: Callable[[], Window], console: str, web_url: str, stack: Stack
) -> None:
    customer = windows()
    open_widget(customer.page, f"{web_url}/demo/ada")
    say(customer.page, "hello")
    said = "where is my order 100001"
    say(customer.page, said)
    sender_id = conversation_id(customer.context)

    # What Rasa made of the message, straight from its tracker.
    tracker = stack.tracker(sender_id)
    parsed = next(e for e in tracker["events"] if e["event"] == "user" and e["text"] == said)
    intent = parsed["parse_data"]["intent"]
    entities = parsed["parse_data"]["entities"]
    assert entities, "the model should find the order number"

    agent = windows()
    page = agent.page
    sign_in(page, console, route=f"#/conversations/{sender_id}")
    expect(page.get_by_role("heading", name="Conversation with Ada Lovelace")).to_be_visible()
    turn = page.locator(".turn-customer", has_text=said)
    expect(turn).to_contain_text(f"{intent['name']} {intent['confidence'] * 100:.1f} %")
    for entity in entities:
        expect(
            turn.locator(".entity", has_text=f"{entity['entity']}={entity['value']}")
        ).to_be_visible()
    detail = page.request.get(f"{web_url}/api/console/conversations/{sender_id}").json()
    sentiment = next(t for t in detail["turns"] if t.get("text") == said)["sentiment"]
    assert sentiment is not None
    expect(turn.locator(".sentiment")).to_have_text(
        f"{sentiment['label']} {signed(sentiment['score'])}"
    )
    expect(turn).to_contain_text("Bot ran")
    expect(page.locator(".turn-bot").first).to_be_visible()

    profile = page.locator(".profile")
    expect(profile).to_contain_text("Ada Lovelace")
    expect(profile.locator("table").first).to_contain_text("100001")

    # Mark the message as training data with the predicted intent.
    form = turn.get_by_role("form", name="Mark as training data")
    expect(form.get_by_label("Intent")).to_have_value(intent["name"])
    form.get_by_role("button", name="Mark as training data").click()
    expect(form.get_by_role("status")).to_contain_text(f"Added as an example of {intent['name']}")
    form.get_by_role("button", name="Mark as training data").click()
    expect(form.get_by_role("status")).to_contain_text(f"Already an example of {intent['name']}")
    review_file = stack.tracker_db.parent / "review" / "nlu_review.yml"
    # Saved with the entity the model found marked up, as Rasa's training data has it.
    order = next(e for e in entities if e["value"] == "100001")
    assert f"- where is my order [100001]({order['entity']})" in review_file.read_text()

    # Review and tags are saved and shown again after a reload.
    review = page.get_by_role("form", name="Review")
    review.get_by_label("Status").select_option("reviewed")
    review.get_by_label("Notes").fill("Checked: the order number was read right.")
    review.get_by_role("button", name="Save review").click()
    expect(review.get_by_role("status")).to_contain_text("Saved")
    page.get_by_label("New tag").fill("Follow-Up")
    page.get_by_role("button", name="Add tag").click()
    tags = page.get_by_role("list", name="Tags")
    expect(tags).to_contain_text("follow-up")
    page.get_by_label("New tag").fill("orders")
    page.get_by_role("button", name="Add tag").click()
    expect(tags).to_contain_text("orders")
    page.get_by_role("button", name="Remove tag follow-up").click()
    expect(tags).not_to_contain_text("follow-up")
    page.reload()
    expect(page.get_by_role("form", name="Review").get_by_label("Status")).to_have_value("reviewed")
    expect(page.get_by_label("Notes")).to_have_value("Checked: the order number was read right.")
    expect(page.get_by_role("list", name="Tags")).to_have_text(re.compile(r"^\s*orders"))
    expect(turn).to_contain_text(intent["name"])

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "transcript.png"), full_page=True)
    assert agent.dialogs == [] and agent.csp_violations == []


def test_customer_text_never_runs_in_the_console(
    windows: Callable[[], Window], console: str, web_url: str, stack: Stack
) -> None:
    # Agent-visible data from the CRM: a customer name and review notes.
    rogue = add_customer(stack.crm_url, XSS_IMG, "rogue@example.org")
    add_conversation(
        stack.crm_url,
        "xss-seeded",
        started_at=datetime.now(UTC) - timedelta(hours=1),
        customer_id=rogue,
        review=(ReviewStatus.NEEDS_TRAINING_DATA, XSS_LINK + " " + XSS_IMG),
    )
    customer = windows()
    log = open_widget(customer.page, web_url)
    # Two messages the bot cannot make sense of may hand the conversation over by themselves.
    for text in (XSS_IMG, XSS_LINK, "I want to talk to a human"):
        send(customer.page, text)
    sender_id = conversation_id(customer.context)

    agent = windows()
    page = agent.page
    sign_in(page, console, route=f"#/conversations/{sender_id}")
    turns = page.locator(".turn-customer")
    expect(turns.filter(has_text=XSS_IMG)).to_have_count(1)
    expect(turns.filter(has_text=XSS_LINK)).to_have_count(1)
    assert_nothing_executable(page)

    page.goto(f"{console}#/queue")
    expect(queue_row(page, sender_id)).to_be_visible(timeout=REPLY_TIMEOUT)
    assert_nothing_executable(page)

    page.goto(f"{console}#/conversations?q=xss-seeded")
    expect(list_rows(page)).to_have_count(1)
    expect(list_rows(page)).to_contain_text(XSS_IMG)
    assert_nothing_executable(page)
    list_rows(page).get_by_role("link").click()
    expect(page.get_by_label("Notes")).to_have_value(XSS_LINK + " " + XSS_IMG)
    expect(page.get_by_role("heading", name=f"Conversation with {XSS_IMG}")).to_be_visible()
    assert_nothing_executable(page)

    expect(log).to_contain_text(XSS_IMG)
    assert agent.dialogs == [] and customer.dialogs == []
    assert agent.csp_violations == []


def test_live_takeover_between_a_customer_and_two_agents(
    windows: Callable[[], Window], console: str, web_url: str
) -> None:
    customer = windows()
    chat = open_widget(customer.page, web_url)
    say(customer.page, "I want to talk to a human")
    sender_id = conversation_id(customer.context)

    # Alex opened the queue too, and then looked away: Alex's page never refreshes it.
    alex = windows()
    alex.page.clock.install()
    alex.page.clock.pause_at(datetime.now() + timedelta(seconds=1))
    sign_in(alex.page, console, ALEX, route="#/queue")
    expect(queue_row(alex.page, sender_id).get_by_role("button", name="Claim")).to_be_visible()

    sam = windows()
    sign_in(sam.page, console, SAM, route="#/queue")
    sam_row = queue_row(sam.page, sender_id)
    expect(sam_row).to_be_visible(timeout=REPLY_TIMEOUT)
    sam_row.get_by_role("button", name="Claim").click()
    live = sam.page.get_by_role("log", name="Live conversation")
    expect(live).to_contain_text("Sam from our team has joined the conversation.")
    expect(chat).to_contain_text(
        "Sam from our team has joined the conversation.", timeout=REPLY_TIMEOUT
    )

    # Alex's stale Claim button loses the race.
    queue_row(alex.page, sender_id).get_by_role("button", name="Claim").click()
    expect(alex.page.get_by_role("alert")).to_contain_text("already claimed by Sam Carter")
    expect(queue_row(alex.page, sender_id)).to_contain_text("Claimed by Sam Carter")

    reply = "Hi, I'm Sam from support. How can I help?"
    sam.page.get_by_label("Your reply").fill(reply)
    sam.page.get_by_label("Your reply").press("Enter")
    expect(sam.page.get_by_label("Your reply")).to_have_value("")
    expect(chat.locator(".sb-agent", has_text=reply)).to_be_visible(timeout=REPLY_TIMEOUT)

    answer = "My parcel arrived damaged."
    type_message(customer.page, answer)
    expect(live.locator(".turn-customer", has_text=answer)).to_be_visible(timeout=REPLY_TIMEOUT)

    sam.page.get_by_role("button", name="Hand back to the bot").click()
    expect(sam.page.get_by_text("The conversation is back with the bot.")).to_be_visible()
    expect(queue_row(sam.page, sender_id)).to_have_count(0)
    expect(chat).to_contain_text("back with the assistant", timeout=REPLY_TIMEOUT)

    say(customer.page, "what are your delivery options?")  # the bot answers again
    assert not any(w.dialogs or w.csp_violations for w in (customer, alex, sam))


def seed_analytics_period(stack: Stack, first: date, days: int) -> list[dict[str, Any]]:
    """A fortnight of conversations no other test touches, with known figures."""
    intents = ["track_order", "get_refund", "complaint", "cancel_order", "check_invoice"]
    seeded = []
    for n in range(40):
        values = {
            "intents": [intents[n % 5], *(["track_order"] if n % 3 == 0 else [])],
            "handoff": n % 5 == 2,
            "sentiment": round(((n * 23) % 21 - 11) / 10, 2),  # averages -0.14
            "csat": 5 - n % 3 if n % 4 == 0 else None,
            "fallback_count": 1 if n % 8 == 0 else 0,
        }
        started = datetime.combine(first, datetime.min.time(), UTC) + timedelta(
            days=(n * 5 + n // 3) % days, hours=8 + (n * 7) % 11
        )
        add_conversation(stack.crm_url, f"analytics-{n}", started_at=started, **values)
        seeded.append(values)
    return seeded


def test_analytics_charts_render_under_the_csp(
    windows: Callable[[], Window], console: str, stack: Stack
) -> None:
    first, days = date(2025, 3, 1), 14
    seeded = seed_analytics_period(stack, first, days)
    handoffs = sum(1 for s in seeded if s["handoff"])
    ratings = [s["csat"] for s in seeded if s["csat"]]
    fallbacks = sum(1 for s in seeded if s["fallback_count"])

    agent = windows()
    page = agent.page
    last = first + timedelta(days=days - 1)
    sign_in(page, console, route=f"#/analytics?date_from={first}&date_to={last}")
    kpis = page.get_by_role("region", name="Key figures")

    def tile(label: str) -> Locator:
        return kpis.locator(".kpi", has=page.locator(".kpi-label", has_text=label))

    expect(tile("Conversations").locator(".kpi-value")).to_have_text("40")
    expect(tile("Handoff rate").locator(".kpi-value")).to_have_text(f"{handoffs / 40 * 100:.1f} %")
    expect(tile("Containment").locator(".kpi-value")).to_have_text(
        f"{(40 - handoffs) / 40 * 100:.1f} %"
    )
    expect(tile("Fallback rate").locator(".kpi-value")).to_have_text(
        f"{fallbacks / 40 * 100:.1f} %"
    )
    expect(tile("Average CSAT").locator(".kpi-value")).to_have_text(
        f"{sum(ratings) / len(ratings):.2f} / 5"
    )
    expect(tile("Average CSAT")).to_contain_text(f"{len(ratings)} responses")
    expect(tile("Average sentiment").locator(".kpi-value")).to_have_text(
        signed(sum(s["sentiment"] for s in seeded) / 40)
    )

    canvases = page.locator("canvas")
    expect(canvases).to_have_count(3)
    drawn = page.evaluate(
        """() => Array.from(document.querySelectorAll('canvas')).map(canvas => {
             const chart = Chart.getChart(canvas);
             return chart && {type: chart.config.type, width: canvas.width,
               total: chart.data.datasets[0].data.reduce((a, b) => a + b, 0),
               points: chart.data.labels.length};
           })"""
    )
    assert [d and d["type"] for d in drawn] == ["line", "bar", "bar"]
    assert all(d["width"] > 0 for d in drawn)
    volume, top_intents, hours = drawn
    assert (volume["points"], volume["total"]) == (days, 40)
    assert top_intents["points"] == 5
    assert (hours["points"], hours["total"]) == (24, 40)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "analytics.png"), full_page=True)

    # Without a period the page shows the last 30 days up to today (UTC).
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Analytics").click()
    today = datetime.now(UTC).date()
    expect(page.get_by_label("To", exact=True)).to_have_value(today.isoformat())
    expect(page.get_by_label("From", exact=True)).to_have_value(
        (today - timedelta(days=29)).isoformat()
    )
    expect(page.locator("canvas")).to_have_count(3)
    violations = page.evaluate("() => window.cspViolations || []")
    assert violations == [] and agent.csp_violations == []


def test_an_agent_erases_a_customer_from_the_customer_panel(
    windows: Callable[[], Window], console: str, stack: Stack
) -> None:
    email, order = seeded_customer(stack.crm_url, 13)
    sender = "br-erase-0001"
    stack.say(sender, "where is my order?")
    stack.say(sender, str(order))
    stack.say(sender, email)
    said = "please forget me and my Larkspur Lane address"
    stack.say(sender, said)

    agent = windows()
    page = agent.page
    sign_in(page, console, ALEX, route=f"#/conversations/{sender}")
    expect(page.locator(".profile")).to_contain_text(email)
    page.get_by_role("button", name="Erase customer\u2026").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("tax law")
    # No reason, no erasure: the browser refuses to send the form.
    dialog.get_by_role("button", name="Erase customer", exact=True).click()
    expect(dialog).to_be_visible()
    dialog.get_by_label("Reason").fill("asked by email, identity checked")
    dialog.get_by_role("button", name="Erase customer", exact=True).click()

    expect(page.locator("p.ok")).to_contain_text("erased: 1 conversation(s)")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="Guest conversation")).to_be_visible()
    expect(page.locator(".profile")).to_contain_text("guest")
    expect(page.locator(".transcript")).not_to_contain_text(said)
    assert email not in page.content()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "erased.png"), full_page=True)
    assert agent.dialogs == [] and agent.csp_violations == []
