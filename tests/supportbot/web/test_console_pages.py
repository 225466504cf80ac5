"""The console shell: served to anyone (the API decides what a visitor sees), with only our own
scripts and styles, under the strict CSP; its ES modules, and every module they import, are ours
and served as JavaScript."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from fastapi.testclient import TestClient

# Static imports and re-exports, in our modules and in lit-html's minified build
# (`import{...}from"./x.js"`), and imports for effect (`import "./x.js"`).
IMPORT = re.compile(
    r"""(?:^|[\s;}])(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']"""
    r"""|(?:^|[\s;}])import\s*["']([^"']+)["']""",
    re.MULTILINE,
)
# A module script must be served with a JavaScript MIME type, or the browser refuses to run it.
JAVASCRIPT = re.compile(r"^(text|application)/javascript\b")


def test_console_shell_loads_only_own_assets(web: TestClient):
    page = web.get("/console")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy
    assert page.headers["cache-control"] == "no-store"
    scripts = re.findall(r"<script([^>]*)>", page.text)
    assert scripts == [
        ' src="/static/vendor/chart.umd.min.js" defer',
        ' type="module" src="/static/console.js"',
    ]
    # No inline script, import map, handler or style the CSP would block.
    assert "<style" not in page.text and " style=" not in page.text
    assert "importmap" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text)
    assert 'id="login-form"' in page.text


def module_graph(web: TestClient, entry: str) -> dict[str, str]:
    """Every module `entry` imports, directly or not: path -> content type."""
    found: dict[str, str] = {}
    pending = [entry]
    while pending:
        path = pending.pop()
        if path in found:
            continue
        response = web.get(path)
        assert response.status_code == 200, path
        found[path] = response.headers["content-type"]
        for match in IMPORT.finditer(response.text):
            specifier = match.group(1) or match.group(2)
            # Relative or absolute paths only: a bare name ("lit-html") needs an import map.
            assert specifier.startswith(("./", "../", "/")), f"{path} imports {specifier!r}"
            target = urljoin(path, specifier)
            assert target.startswith("/static/"), f"{path} imports {specifier!r}"
            pending.append(target)
    return found


def test_every_console_module_is_ours_and_served_as_javascript(web: TestClient):
    page = web.get("/console")
    entries = re.findall(r'<script type="module" src="([^"]+)"', page.text)
    assert entries == ["/static/console.js"]
    modules = module_graph(web, entries[0])
    # The view modules and lit-html, from the vendored copy beside them.
    for path in (
        "/static/console/conversations.js",
        "/static/console/transcript.js",
        "/static/console/queue.js",
        "/static/console/live-chat.js",
        "/static/console/analytics.js",
        "/static/console/signin.js",
        "/static/console/api.js",
        "/static/console/router.js",
        "/static/vendor/lit-html/lit-html.js",
    ):
        assert path in modules, path
    wrong = {path: kind for path, kind in modules.items() if not JAVASCRIPT.match(kind)}
    assert wrong == {}


def test_console_assets_are_served(web: TestClient):
    for path in (
        "/static/console.js",
        "/static/console.css",
        "/static/vendor/chart.umd.min.js",
        "/static/vendor/lit-html/lit-html.js",
        "/static/vendor/LICENSE.lit-html",
    ):
        assert web.get(path).status_code == 200, path
