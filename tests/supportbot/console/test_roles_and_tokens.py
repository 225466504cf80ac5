"""Roles and scoped API tokens (issue 15): admin-only routes answer 403 to an agent and 200 to an
admin, and are audited; a token acts as its agent for its scopes only, under the same claims, and
is refused once expired or revoked."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, update

from supportbot.console.models import Agent, AgentRole, AgentToken, AuditEntry
from supportbot.crm.models import Base, utcnow
from supportbot.store import crm_session
from tests.supportbot.console.conftest import (
    AGENTS,
    PASSWORD,
    agent_id,
    create_agent,
    hand_over,
)
from tests.supportbot.web.conftest import FakeRasa, client_for, make_settings

SENDER = "conv-1"
OWN_ORIGIN = {"Origin": "http://testserver"}
ADMIN_EMAIL = "root@support.test"
# Every admin-only route, with a body that would be accepted.
ADMIN_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/console/agents", None),
    (
        "POST",
        "/api/console/agents",
        {"email": "new@support.test", "name": "New", "password": "p" * 12},
    ),
    ("PATCH", "/api/console/agents/{alex}", {"role": "admin"}),
    ("POST", "/api/console/agents/{alex}/tokens", {"scopes": ["takeover"]}),
    ("GET", "/api/console/tokens", None),
    ("DELETE", "/api/console/tokens/{token}", None),
    ("GET", "/api/console/audit", None),
    ("GET", "/api/console/conversations/export?format=csv", None),
]


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def url(takeover_url: str) -> str:
    create_agent(takeover_url, ADMIN_EMAIL, "Robin Admin", AgentRole.ADMIN)
    return takeover_url


def signed_in(url: str, rasa: FakeRasa, email: str) -> TestClient:
    client = client_for(rasa, make_settings(database_url=url))
    response = client.post("/api/console/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers.update(OWN_ORIGIN)
    return client


@pytest.fixture
def admin(url: str, rasa: FakeRasa) -> TestClient:
    return signed_in(url, rasa, ADMIN_EMAIL)


@pytest.fixture
def sam(url: str, rasa: FakeRasa) -> TestClient:
    return signed_in(url, rasa, AGENTS["sam"][0])


def audit_entries(url: str, action: str) -> list[AuditEntry]:
    with crm_session(url) as crm:
        entries = list(
            crm.session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )
        crm.session.expunge_all()
        return entries


def issue(admin: TestClient, url: str, who: str, *scopes: str, **extra: Any) -> str:
    response = admin.post(
        f"/api/console/agents/{agent_id(url, who)}/tokens", json={"scopes": list(scopes), **extra}
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def bearer(rasa: FakeRasa, url: str, token: str) -> TestClient:
    """A script's client: the token, no cookie, no Origin."""
    client = client_for(rasa, make_settings(database_url=url))
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def paused_handoff(url: str, rasa: FakeRasa, sender_id: str = SENDER) -> None:
    hand_over(url, sender_id)
    rasa.events[sender_id] = [{"event": "user", "text": "I want a human", "timestamp": 1.0}]
    rasa.paused[sender_id] = True


def concrete(path: str, url: str, token_id: int = 1) -> str:
    return path.format(alex=agent_id(url, "alex"), token=token_id)


# --- roles ---------------------------------------------------------------------------------


def test_every_admin_route_is_listed():
    from supportbot.web.admin_api import router

    routes = {(m, r.path) for r in router.routes for m in r.methods}  # type: ignore[attr-defined]
    listed = {(m, p) for m, p, _ in ADMIN_ROUTES if "export" not in p}
    listed = {
        (m, p.replace("{alex}", "{agent_id}").replace("{token}", "{token_id}")) for m, p in listed
    }
    assert routes == listed


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_an_agent_gets_403_on_every_admin_route(
    url: str, admin: TestClient, sam: TestClient, method: str, path: str, body: Any
):
    token_id = admin.post(
        f"/api/console/agents/{agent_id(url, 'sam')}/tokens", json={"scopes": ["takeover"]}
    ).json()["id"]
    before = admin.get("/api/console/audit").json()["items"]

    response = sam.request(method, concrete(path, url, token_id), json=body)

    assert (response.status_code, response.json()) == (403, {"error": "only an admin may do this"})
    assert admin.get("/api/console/audit").json()["items"] == before  # and nothing happened
    assert admin.get("/api/console/tokens").json()["items"][0]["live"] is True


def test_an_admin_manages_agents_and_each_change_is_audited(url: str, admin: TestClient):
    admin_id = admin.get("/api/console/me").json()["agent"]["id"]
    created = admin.post(
        "/api/console/agents",
        json={"email": "Kim@Support.test", "name": "Kim Park", "password": "k" * 12},
    )
    assert created.status_code == 201, created.text
    kim = created.json()
    assert (kim["email"], kim["role"], kim["active"]) == ("kim@support.test", "agent", True)

    short = admin.post(
        "/api/console/agents",
        json={"email": "lee@support.test", "name": "Lee", "password": "k" * 11},
    )
    assert short.status_code == 422 and "at least 12" in short.json()["error"]

    changed = admin.patch(f"/api/console/agents/{kim['id']}", json={"role": "admin"})
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    disabled = admin.patch(f"/api/console/agents/{kim['id']}", json={"active": False})
    assert disabled.json()["active"] is False
    assert admin.patch(f"/api/console/agents/{admin_id}", json={"active": False}).status_code == 409
    assert admin.patch("/api/console/agents/9999", json={"active": False}).status_code == 404

    listed = admin.get("/api/console/agents").json()["items"]
    assert {a["email"] for a in listed} >= {"kim@support.test", ADMIN_EMAIL}

    trail = [
        (e.actor, e.action, e.subject, e.details)
        for e in audit_entries(url, "agent.create") + audit_entries(url, "agent.change")
    ]
    me, subject = f"agent:{admin_id}", f"agent:{kim['id']}"
    assert trail == [
        (me, "agent.create", subject, {"role": "agent"}),
        (me, "agent.change", subject, {"role": "admin"}),
        (me, "agent.change", subject, {"active": False}),
    ]
    assert all(e.source.startswith("ip:") for e in audit_entries(url, "agent.change"))


def test_only_an_admin_exports_many_conversations_and_it_is_audited(
    url: str, admin: TestClient, sam: TestClient
):
    hand_over(url, "conv-export")
    assert sam.get("/api/console/conversations/export").status_code == 403
    assert audit_entries(url, "conversations.export") == []

    response = admin.get("/api/console/conversations/export", params={"handoff": "true"})

    assert response.status_code == 200
    [entry] = audit_entries(url, "conversations.export")
    admin_id = admin.get("/api/console/me").json()["agent"]["id"]
    assert (entry.actor, entry.subject) == (f"agent:{admin_id}", "1 conversations")
    assert entry.details == {"format": "json", "count": 1, "filters": ["handoff"]}
    assert entry.at is not None
    # One conversation's export stays every agent's.
    assert sam.get("/api/console/conversations/conv-export/export").status_code == 200


# --- scoped tokens -------------------------------------------------------------------------


def test_the_issues_attack_replayed_with_a_token_posts_nothing(
    url: str, admin: TestClient, rasa: FakeRasa
):
    """Issue 15, item 5: a phishing line posted "as Security Team" into a conversation that was
    never handed off. With a takeover token: no name from the request, no claim, no post."""
    rasa.events["never-handed-off"] = [{"event": "user", "text": "hi", "timestamp": 1.0}]
    script = bearer(rasa, url, issue(admin, url, "sam", "takeover"))
    phishing = "Your account is locked: [verify here](https://evil.example/login)"
    path = "/api/console/conversations/never-handed-off/messages"

    spoofed = script.post(path, json={"text": phishing, "agent_name": "Security Team"})
    assert spoofed.status_code == 422  # the name is never taken from the request
    response = script.post(path, json={"text": phishing})
    assert response.status_code == 404
    assert response.json() == {"error": "this conversation has not been handed to a person"}
    assert rasa.events["never-handed-off"] == [{"event": "user", "text": "hi", "timestamp": 1.0}]


def test_a_takeover_token_acts_as_its_agent_under_the_claims(
    url: str, admin: TestClient, rasa: FakeRasa
):
    paused_handoff(url, rasa)
    sam = bearer(rasa, url, issue(admin, url, "sam", "takeover"))
    alex = bearer(rasa, url, issue(admin, url, "alex", "takeover"))
    say = f"/api/console/conversations/{SENDER}/messages"

    live = f"/api/console/conversations/{SENDER}/live"
    assert sam.post(say, json={"text": "hello"}).status_code == 409  # waiting, nobody claimed
    assert sam.get(live).status_code == 409  # nor read it: the token has no read scope
    assert sam.post(f"/api/console/queue/{SENDER}/claim").status_code == 200
    assert sam.get(live).status_code == 200
    assert alex.get(live).status_code == 403  # Sam holds it
    assert alex.post(say, json={"text": "hello"}).status_code == 403
    assert alex.post(f"/api/console/queue/{SENDER}/release").status_code == 403
    assert sam.post(say, json={"text": "Hi, Sam here."}).status_code == 200
    assert sam.get("/api/console/queue").json()["items"][0]["agent"]["name"] == "Sam Lee"
    assert sam.post(f"/api/console/queue/{SENDER}/release").status_code == 200

    posted = [(e.get("text"), e.get("metadata", {}).get("agent_name")) for e in rasa.events[SENDER]]
    assert ("Hi, Sam here.", "Sam") in posted
    with crm_session(url) as crm:
        assert crm.handoffs.items() == []  # handed back: it left the queue


@pytest.mark.parametrize(
    ("scope", "allowed", "refused"),
    [
        (
            "takeover",
            [("GET", "/api/console/queue")],
            [("GET", "/api/console/conversations"), ("GET", "/api/console/analytics")],
        ),
        (
            "conversations:read",
            [
                ("GET", "/api/console/conversations"),
                ("GET", "/api/console/analytics"),
                ("GET", "/api/console/me"),
            ],
            [("GET", "/api/console/queue"), ("POST", f"/api/console/queue/{SENDER}/claim")],
        ),
    ],
)
def test_a_token_works_only_for_its_scopes(
    url: str,
    admin: TestClient,
    rasa: FakeRasa,
    scope: str,
    allowed: list[tuple[str, str]],
    refused: list[tuple[str, str]],
):
    paused_handoff(url, rasa)
    script = bearer(rasa, url, issue(admin, url, "sam", scope))
    for method, path in allowed:
        assert script.request(method, path).status_code == 200, path
    for method, path in refused:
        response = script.request(method, path)
        assert response.status_code == 403, path
        assert response.json() == {"error": "this API token's scopes do not cover this request"}
    # Console-only routes (reviews, tags, admin) take no token at all.
    for method, path in [
        ("PUT", f"/api/console/conversations/{SENDER}/review"),
        ("GET", "/api/console/agents"),
        ("POST", "/api/console/logout"),
    ]:
        assert script.request(method, path, json={}).status_code == 403, path
    with crm_session(url) as crm:
        assert crm.handoffs.items()[0]["state"] == "waiting"


def test_bulk_exports_by_token_need_the_scope_and_an_admin(
    url: str, admin: TestClient, rasa: FakeRasa
):
    refused = admin.post(
        f"/api/console/agents/{agent_id(url, 'sam')}/tokens",
        json={"scopes": ["conversations:export"]},
    )
    assert refused.status_code == 422 and "only an admin" in refused.json()["error"]

    admin_id = admin.get("/api/console/me").json()["agent"]["id"]
    response = admin.post(
        f"/api/console/agents/{admin_id}/tokens", json={"scopes": ["conversations:export"]}
    )
    script = bearer(rasa, url, response.json()["token"])
    assert script.get("/api/console/conversations/export").status_code == 200
    assert len(audit_entries(url, "conversations.export")) == 1
    # Demoted later: the token's scope no longer helps.
    with crm_session(url) as crm:
        crm.session.execute(update(Agent).where(Agent.id == admin_id).values(role="agent"))
    assert script.get("/api/console/conversations/export").status_code == 403


def test_expired_revoked_unknown_and_disabled_tokens_are_refused(
    url: str, admin: TestClient, rasa: FakeRasa
):
    live, expired, revoked = (issue(admin, url, "sam", "takeover") for _ in range(3))
    ids = [t["id"] for t in admin.get("/api/console/tokens").json()["items"]]  # newest first
    with crm_session(url) as crm:
        crm.session.execute(
            update(AgentToken)
            .where(AgentToken.id == ids[1])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert admin.delete(f"/api/console/tokens/{ids[0]}").status_code == 200
    assert admin.delete("/api/console/tokens/9999").status_code == 404

    def answer(token: str) -> tuple[int, Any]:
        response = bearer(rasa, url, token).get("/api/console/queue")
        return response.status_code, response.json()

    gone = (401, {"error": "API token unknown, expired or revoked"})
    assert answer(live)[0] == 200
    assert answer(expired) == gone and answer(revoked) == gone
    assert answer("sbt_" + "x" * 43) == gone and answer("not-even-a-token") == gone
    assert admin.patch(f"/api/console/agents/{agent_id(url, 'sam')}", json={"active": False})
    assert answer(live) == gone  # the agent was disabled

    [issued] = [(e.actor, e.subject) for e in audit_entries(url, "token.revoke")]
    admin_id = admin.get("/api/console/me").json()["agent"]["id"]
    assert issued == (f"agent:{admin_id}", f"token:{ids[0]}")
    assert len(audit_entries(url, "token.issue")) == 3


def test_tokens_are_stored_hashed_and_listed_without_the_token(url: str, admin: TestClient):
    token = issue(admin, url, "sam", "takeover", "conversations:read", days=7, label="night shift")
    listed = admin.get("/api/console/tokens").json()["items"]
    assert token not in str(listed)
    assert listed[0]["scopes"] == ["conversations:read", "takeover"]
    assert listed[0]["label"] == "night shift" and listed[0]["live"] is True
    with crm_session(url) as crm:
        stored = crm.session.scalars(select(AgentToken.token_hash)).all()
    assert token not in stored and len(stored[0]) == 64
    for body in ({"scopes": []}, {"scopes": ["everything"]}, {"scopes": ["takeover"], "days": 91}):
        response = admin.post(f"/api/console/agents/{agent_id(url, 'sam')}/tokens", json=body)
        assert response.status_code == 422, body


def test_migration_0007_creates_what_the_models_describe(db_connection: Connection):
    context = MigrationContext.configure(db_connection)
    differences = compare_metadata(context, Base.metadata)
    mine = ("'agents'", "agent_tokens", "audit_trail")
    assert [d for d in differences if any(name in repr(d) for name in mine)] == []
