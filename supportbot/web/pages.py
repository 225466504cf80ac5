"""HTML pages: the demo shop with the chat widget, and demo host pages of logged-in customers.

The demo pages hand anyone who opens them a token that signs in as a demo customer, so they
exist only when asked for (SUPPORTBOT_DEMO_PAGES=1) and only on this machine: the app refuses
to start with them on a host other than loopback, and they answer 404 to a request that was not
made to, or from, a loopback address.
"""

from __future__ import annotations

import ipaddress
from html import escape

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from supportbot.identity import issue_customer_token
from supportbot.settings import Settings, SettingsError
from supportbot.web.dependencies import AppSettings, CRMSession

router = APIRouter()

# The documented demo customers (README); only served when SUPPORTBOT_DEMO_PAGES is on.
DEMO_CUSTOMERS = {"ada": "ada@example.com", "grace": "grace@example.com"}


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost (a host name, not a host:port)."""
    host = host.strip().lower().removeprefix("[").removesuffix("]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_demo_pages_allowed(settings: Settings) -> None:
    """Refuse to serve the demo pages on an address other machines can reach."""
    if settings.demo_pages and not is_loopback(settings.web_host):
        raise SettingsError(
            "SUPPORTBOT_DEMO_PAGES=1 serves pages that sign anyone in as a demo customer: it is "
            f"refused with SUPPORTBOT_WEB_HOST={settings.web_host} (loopback only: 127.0.0.1, "
            "::1 or localhost)"
        )


def _host_name(host_header: str) -> str:
    """The host of a Host header, without its port."""
    if host_header.startswith("["):
        return host_header.partition("]")[0] + "]"
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


def _local_request(request: Request) -> bool:
    client = request.client.host if request.client else ""
    # A proxy on this machine would make a remote visitor look local: anything it forwarded
    # is not a local request.
    forwarded = any(h in request.headers for h in ("x-forwarded-for", "forwarded", "x-real-ip"))
    return (
        not forwarded
        and is_loopback(_host_name(request.headers.get("host", "")))
        and is_loopback(client)
    )


def shop_page(*, signed_in_as: str | None = None, customer_token: str | None = None) -> str:
    """The demo shop page. Every interpolated value is escaped."""
    who = (
        f"Signed in as {escape(signed_in_as)}. The widget knows who you are."
        if signed_in_as
        else "You are browsing as a guest. The assistant asks you to verify before it shows order "
        "details."
    )
    token_attribute = (
        f' data-customer-token="{escape(customer_token, quote=True)}"' if customer_token else ""
    )
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Homeware &amp; Co. - help</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/shop.css">
  <link rel="stylesheet" href="/static/widget.css">
</head>
<body>
  <header class="shop-header"><strong>Homeware &amp; Co.</strong>
    <nav><a href="/">Shop</a> <a href="/">Orders</a> <a href="/">Help</a></nav></header>
  <main class="shop-main">
    <h1>How can we help?</h1>
    <p>{who}</p>
    <p>Open the chat in the corner and try: <em>where is my order?</em>,
       <em>cancel order 100004</em>, <em>refund status</em>, <em>I want to complain</em> or
       <em>talk to a human</em>.</p>
  </main>
  <script src="/static/widget.js" defer{token_attribute}></script>
</body>
</html>
"""


@router.get("/", response_class=HTMLResponse)
async def home() -> str:
    return shop_page()


@router.get("/demo/{name}", response_class=HTMLResponse)
def demo_customer_page(name: str, settings: AppSettings, crm: CRMSession, request: Request) -> str:
    """A stand-in for a logged-in customer's page: it mints the token its backend would."""
    email = DEMO_CUSTOMERS.get(name)
    if not settings.demo_pages or email is None or not _local_request(request):
        raise HTTPException(404, "not found")
    secret = settings.require("identity_secret")
    customer = crm.customers.find_by_email(email)
    if customer is None:
        raise HTTPException(404, "the demo customers are not seeded: run `supportbot db seed`")
    token = issue_customer_token(
        customer.id, secret=secret, ttl_seconds=settings.identity_token_ttl_seconds
    )
    return shop_page(signed_in_as=customer.name, customer_token=token)
