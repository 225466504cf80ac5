"""ASGI middleware around the whole app: request bodies capped before they are read, and the
security headers on every response."""

from __future__ import annotations

import contextlib
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Responses that can carry personal data (transcripts, invoices, identity tokens, agent views)
# must not stay in a browser's or a proxy's cache.
_PRIVATE_PREFIXES = ("/api/", "/demo/", "/console")
# Browsers keep to https for a year once they saw this over https.
_HSTS = b"max-age=31536000; includeSubDomains"
_PERMISSIONS = b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse (413) a request whose body is over its path's cap: at once when Content-Length
    says so, otherwise as soon as the body read so far passes it (a chunked upload is not read
    to its end)."""

    def __init__(self, app: ASGIApp, caps: dict[str, int], default: int) -> None:
        self.app = app
        # The longest matching path prefix wins.
        self.caps = sorted(caps.items(), key=lambda item: -len(item[0]))
        self.default = default

    def cap_for(self, path: str) -> int:
        return next((cap for prefix, cap in self.caps if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.cap_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            await _refuse(send, cap)
            return
        received = 0
        refused = False
        response_started = False

        async def capped_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    refused = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused and not response_started:
                return  # whatever the app made of the cut-off body; the 413 goes instead
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, capped_receive, guarded_send)
        if refused and not response_started:
            await _refuse(send, cap)


async def _refuse(send: Send, cap: int) -> None:
    body = json.dumps({"error": f"Request body too large: at most {cap} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read, so the connection cannot carry another request.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Adds the security headers to every response: the content security policy, no sniffing,
    no framing, no powerful browser features, no caching of personal data, and HSTS over https."""

    def __init__(self, app: ASGIApp, policy: str) -> None:
        self.app = app
        self.policy = policy.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope["path"].startswith(_PRIVATE_PREFIXES)
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not (private and name.lower() == b"cache-control")
                ]
                headers += [
                    (b"content-security-policy", self.policy),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"permissions-policy", _PERMISSIONS),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if private:
                    headers.append((b"cache-control", b"no-store"))
                if https:
                    headers.append((b"strict-transport-security", _HSTS))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
