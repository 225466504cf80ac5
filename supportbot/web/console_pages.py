"""The agent console's page: one static shell; the ES module console.js (and its view modules in
static/console/) signs in and draws each view from the console API (hash routes #/conversations,
#/conversations/<id>, #/queue, #/analytics, #/privacy)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()

# No data is interpolated: everything an agent sees comes from the API and is drawn by lit-html,
# which puts every value in as text, so the page itself cannot carry an injection. Chart.js is a
# classic script (the charts use window.Chart); module scripts are deferred too and run after it.
CONSOLE_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Agent console - supportbot</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/console.css">
  <script src="/static/vendor/chart.umd.min.js" defer></script>
  <script type="module" src="/static/console.js"></script>
</head>
<body>
  <a class="skip" href="#main">Skip to content</a>
  <header class="top" id="top" hidden>
    <span class="brand">supportbot <span class="brand-sub">agent console</span></span>
    <nav aria-label="Console">
      <a href="#/conversations" data-nav="conversations">Conversations</a>
      <a href="#/queue" data-nav="queue">Queue</a>
      <a href="#/analytics" data-nav="analytics">Analytics</a>
      <a href="#/privacy" data-nav="privacy">Privacy</a>
    </nav>
    <span class="who"><span id="agent-name"></span>
      <button type="button" id="sign-out" class="link-button">Sign out</button></span>
  </header>
  <main id="main" tabindex="-1">
    <section id="login" class="login" hidden aria-labelledby="login-title">
      <h1 id="login-title">Sign in to the agent console</h1>
      <form id="login-form" novalidate>
        <label for="login-email">Email</label>
        <input id="login-email" name="email" type="email" autocomplete="username" required>
        <label for="login-password">Password</label>
        <input id="login-password" name="password" type="password"
               autocomplete="current-password" required>
        <p id="login-error" class="error" role="alert" hidden></p>
        <button type="submit" class="primary">Sign in</button>
      </form>
    </section>
    <div id="view"></div>
  </main>
  <noscript>The agent console needs JavaScript.</noscript>
</body>
</html>
"""


@router.get("/console", response_class=HTMLResponse)
async def console_page() -> HTMLResponse:
    return HTMLResponse(CONSOLE_PAGE, headers={"cache-control": "no-store"})
