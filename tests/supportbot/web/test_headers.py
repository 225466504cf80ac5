"""Security headers: personal data is never cached, HSTS only over https (behind a proxy only
when the proxy is trusted), no framing, and the content security policy everywhere."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from supportbot.settings import WebGuards
from tests.supportbot.web.conftest import ON_LOOPBACK, FakeRasa, client_for, make_settings

PERSONAL = [
    ("POST", "/api/chat/messages"),  # a transcript, invoices included
    ("GET", "/api/chat/messages"),
    ("GET", "/api/chat/session"),  # a credential for the conversation
    ("GET", "/demo/ada"),  # an identity token
    ("GET", "/console"),
    ("GET", "/api/console/me"),
    ("GET", "/api/console/conversations"),
]


@pytest.mark.parametrize(("method", "path"), PERSONAL)
def test_responses_with_personal_data_are_not_stored(
    crm_url: str, rasa: FakeRasa, method: str, path: str
):
    web = client_for(rasa, make_settings(database_url=crm_url, demo_pages=True), **ON_LOOPBACK)
    response = web.request(method, path, json={"text": "my invoices"})
    assert response.headers.get_list("cache-control") == ["no-store"], response.status_code


def test_static_files_may_be_cached(web: TestClient):
    response = web.get("/static/widget.js")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("cache-control", "")


def test_every_response_carries_the_security_headers(web: TestClient):
    for response in (web.get("/"), web.get("/static/widget.js"), web.get("/no-such-page")):
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-frame-options"] == "DENY"
        assert "camera=()" in headers["permissions-policy"]
        assert headers["cross-origin-opener-policy"] == "same-origin"


def test_hsts_only_over_https(rasa: FakeRasa):
    settings = make_settings()
    over_http = client_for(rasa, settings).get("/")
    assert "strict-transport-security" not in over_http.headers
    over_https = client_for(rasa, settings, base_url="https://shop.example").get("/")
    assert over_https.headers["strict-transport-security"].startswith("max-age=31536000")


def test_a_forwarded_proto_is_believed_only_from_a_trusted_proxy(rasa: FakeRasa):
    https = {"X-Forwarded-Proto": "https"}
    untrusted = client_for(rasa, make_settings(), client=("127.0.0.1", 50000))
    assert "strict-transport-security" not in untrusted.get("/", headers=https).headers
    trusted = make_settings(web_guards=WebGuards(trusted_proxies=("127.0.0.1/32",)))
    proxy = client_for(rasa, trusted, client=("127.0.0.1", 50000))
    assert "strict-transport-security" in proxy.get("/", headers=https).headers
    assert "strict-transport-security" not in proxy.get("/").headers
