"""The demo pages: off by default (`make run` too), only on loopback, escaped, and the token they
mint names the right customer."""

from __future__ import annotations

import re
import subprocess

import pytest

from supportbot.identity import verify_customer_token
from supportbot.settings import PROJECT_ROOT, SettingsError
from supportbot.web.app import create_app
from supportbot.web.pages import shop_page
from tests.conftest import IDENTITY_SECRET
from tests.supportbot.web.conftest import ON_LOOPBACK, FakeRasa, client_for, make_settings

TOKEN = re.compile(r'data-customer-token="([^"]+)"')


def test_demo_pages_are_off_by_default(web):
    assert web.get("/demo/ada").status_code == 404


def test_demo_page_signs_in_as_ada(crm_url: str, rasa: FakeRasa):
    web = client_for(rasa, make_settings(demo_pages=True, database_url=crm_url), **ON_LOOPBACK)
    page = web.get("/demo/ada")
    assert page.status_code == 200
    assert "Signed in as Ada Lovelace" in page.text
    match = TOKEN.search(page.text)
    assert match is not None
    customer_id = verify_customer_token(match.group(1), secret=IDENTITY_SECRET)
    assert web.get("/demo/nobody").status_code == 404
    grace = TOKEN.search(web.get("/demo/grace").text)
    assert grace is not None
    assert verify_customer_token(grace.group(1), secret=IDENTITY_SECRET) != customer_id


def test_page_values_are_escaped():
    page = shop_page(signed_in_as="<img src=x onerror=alert(1)>", customer_token='"><script>')
    assert "<img" not in page and "<script>" not in page.replace('<script src="/static', "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "shop.example"])
def test_the_app_refuses_to_start_with_demo_pages_on_a_host_others_can_reach(host: str):
    with pytest.raises(SettingsError, match="SUPPORTBOT_DEMO_PAGES"):
        create_app(make_settings(demo_pages=True, web_host=host))
    create_app(make_settings(demo_pages=False, web_host=host))  # without them it starts


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_demo_pages_may_run_on_loopback(host: str):
    create_app(make_settings(demo_pages=True, web_host=host))


@pytest.mark.parametrize(
    ("base_url", "peer"),
    [
        # A name that resolves to 127.0.0.1 (DNS rebinding), or a proxy forwarding the public name.
        ("http://shop.example:8000", "127.0.0.1"),
        ("http://127.0.0.1:8000", "203.0.113.9"),  # a client elsewhere
        ("http://localhost.evil.example", "127.0.0.1"),
    ],
)
def test_demo_pages_answer_404_unless_asked_on_and_from_loopback(
    crm_url: str, rasa: FakeRasa, base_url: str, peer: str
):
    settings = make_settings(demo_pages=True, database_url=crm_url)
    web = client_for(rasa, settings, base_url=base_url, client=(peer, 50000))
    page = web.get("/demo/ada")
    assert page.status_code == 404 and "data-customer-token" not in page.text
    for local in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        on_loopback = client_for(rasa, settings, base_url=local, client=("127.0.0.1", 50000))
        assert on_loopback.get("/demo/ada").status_code == 200, local


def test_demo_pages_refuse_what_a_local_proxy_forwarded(crm_url: str, rasa: FakeRasa):
    """A reverse proxy on this machine keeps Host and peer on loopback for a remote visitor."""
    settings = make_settings(demo_pages=True, database_url=crm_url)
    web = client_for(rasa, settings, base_url="http://127.0.0.1:8000", client=("127.0.0.1", 1))
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        page = web.get("/demo/ada", headers={header: "203.0.113.9"})
        assert page.status_code == 404 and "data-customer-token" not in page.text


def test_make_run_leaves_the_demo_pages_off():
    commands = subprocess.run(
        ["make", "-n", "run"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "supportbot run" in commands and "DEMO_PAGES" not in commands
