"""Browser tests: Debian's Chromium, driven by Playwright, against the real web app in front of
the real Rasa and action servers (tests/stack.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from supportbot.console.auth import Agents
from supportbot.console.models import AgentRole
from supportbot.settings import WebGuards
from supportbot.store import crm_session
from tests.stack import WEB_PORT, Stack, serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# Without the background-networking flags Chromium keeps dialling Google on this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def web_url(stack: Stack) -> Iterator[str]:
    """The real web app on the port the stack's socket.io channel allows."""
    # The browser tests sign in more than login_per_client allows a minute from one address
    # (the limit itself is tested in tests/integration/test_security.py).
    settings = replace(stack.web_settings(), web_guards=WebGuards(login_per_client="600/minute"))
    with serving(settings, WEB_PORT) as url:
        yield url


AGENT_PASSWORD = "console-browser-test-password"
# email -> name; the disabled one exists to be refused at sign-in. Sam is an admin (exports of
# many conversations are admins' only), Alex an agent.
CONSOLE_AGENTS = {"sam@support.test": "Sam Carter", "alex@support.test": "Alex Kim"}
CONSOLE_ADMINS = {"sam@support.test"}
DISABLED_AGENT = "dana@support.test"


@pytest.fixture(scope="session")
def console_agents(stack: Stack) -> dict[str, str]:
    """Agent logins in the stack's CRM, made the way `supportbot agent create` makes them."""
    with crm_session(stack.crm_url) as crm:
        agents = Agents(crm.session)
        for email, name in CONSOLE_AGENTS.items():
            role = AgentRole.ADMIN if email in CONSOLE_ADMINS else AgentRole.AGENT
            agents.create(email, name, AGENT_PASSWORD, role)
        agents.create(DISABLED_AGENT, "Dana Gone", AGENT_PASSWORD)
        agents.set_active(DISABLED_AGENT, False)
    return CONSOLE_AGENTS


# Module scope: Playwright's own event loop must be gone before async tests run elsewhere.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
