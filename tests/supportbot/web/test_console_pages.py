"""The console shell: served to anyone (the API decides what a visitor sees), with only our own
scripts and styles, under the strict CSP."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_console_shell_loads_only_own_assets(web: TestClient):
    page = web.get("/console")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert page.headers["cache-control"] == "no-store"
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts == [
        ' src="/static/vendor/chart.umd.min.js" defer',
        ' src="/static/console.js" defer',
    ]
    # No inline script, handler or style the CSP would block.
    assert "<style" not in page.text and " style=" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text)
    assert 'id="login-form"' in page.text


def test_console_assets_are_served(web: TestClient):
    for path in ("/static/console.js", "/static/console.css", "/static/vendor/chart.umd.min.js"):
        assert web.get(path).status_code == 200, path
