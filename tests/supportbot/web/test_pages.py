"""The demo pages: off by default, escaped, and the token they mint names the right customer."""

from __future__ import annotations

import re

from supportbot.identity import verify_customer_token
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
