"""Admins only (403 for an agent), from a console session: agent accounts, the API tokens scripts
use, and the audit trail. Every change is audited: who, what, when and from where.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from supportbot.console.audit import agent_actor
from supportbot.console.auth import MAX_NAME_LENGTH, MAX_PASSWORD_LENGTH, AgentError, Agents
from supportbot.console.models import Agent, AgentRole
from supportbot.console.tokens import MAX_LABEL_LENGTH, MAX_TOKEN_DAYS, AgentTokens
from supportbot.crm.models import utc_iso
from supportbot.web.dependencies import Admin, AdminChange, AuditSource, CRMSession
from supportbot.web.responses import (
    AgentAccount,
    AgentAccounts,
    ApiTokens,
    AuditTrailPage,
    IssuedApiToken,
    Status,
)

router = APIRouter(prefix="/api/console")
AgentId = Annotated[int, Path(ge=1)]


def _account(agent: Agent) -> AgentAccount:
    return AgentAccount(
        id=agent.id,
        email=agent.email,
        name=agent.name,
        role=agent.role,
        active=agent.active,
        created_at=utc_iso(agent.created_at),
        locked_until=utc_iso(agent.locked_until),
    )


def _agent(agents: Agents, agent_id: int) -> Agent:
    try:
        return agents.get(agent_id)
    except AgentError:
        raise HTTPException(404, "no such agent") from None


def _invalid(error: AgentError) -> HTTPException:
    return HTTPException(422, f"Invalid request: {error}")


# --- agents --------------------------------------------------------------------------------


class NewAgent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    role: AgentRole = AgentRole.AGENT


class AgentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: AgentRole | None = None
    active: bool | None = None
    # True lifts a login lockout now (a locked account is refused like a wrong password).
    unlock: bool | None = None


@router.get("/agents")
def list_agents(admin: Admin, crm: CRMSession) -> AgentAccounts:
    return AgentAccounts(items=[_account(agent) for agent in Agents(crm.session).all()])


@router.post("/agents", status_code=201)
def create_agent(
    admin: AdminChange, body: NewAgent, crm: CRMSession, source: AuditSource
) -> AgentAccount:
    agents = Agents(crm.session)
    try:
        agent = agents.create(body.email, body.name, body.password, body.role)
    except AgentError as error:
        raise _invalid(error) from None
    crm.session.flush()
    agents.audit.record(
        agent_actor(admin.id),
        "agent.create",
        subject=agent_actor(agent.id),
        source=source.name,
        details={"role": agent.role.value},
    )
    return _account(agent)


@router.patch("/agents/{agent_id}")
def change_agent(
    admin: AdminChange, agent_id: AgentId, body: AgentChange, crm: CRMSession, source: AuditSource
) -> AgentAccount:
    """Change an agent's role, disable (enable) them or lift their login lockout; an admin
    cannot demote or disable themself."""
    agents = Agents(crm.session)
    agent = _agent(agents, agent_id)
    if agent.id == admin.id and (body.role is AgentRole.AGENT or body.active is False):
        raise HTTPException(409, "an admin cannot demote or disable themself")
    changes: dict[str, Any] = {}
    if body.role is not None and body.role is not agent.role:
        agents.set_role(agent, body.role)
        changes["role"] = body.role.value
    if body.active is not None and body.active != agent.active:
        agents.set_active(agent.email, body.active)
        changes["active"] = body.active
    if body.unlock and agent.locked_until is not None:
        agents.unlock(agent)
        changes["unlocked"] = True
    if changes:
        agents.audit.record(
            agent_actor(admin.id),
            "agent.change",
            subject=agent_actor(agent.id),
            source=source.name,
            details=changes,
        )
    return _account(agent)


# --- API tokens ----------------------------------------------------------------------------


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[str] = Field(min_length=1, max_length=10)
    days: int = Field(default=30, ge=1, le=MAX_TOKEN_DAYS)
    label: str = Field(default="", max_length=MAX_LABEL_LENGTH)


@router.post("/agents/{agent_id}/tokens", status_code=201)
def issue_token(
    admin: AdminChange, agent_id: AgentId, body: NewToken, crm: CRMSession, source: AuditSource
) -> IssuedApiToken:
    """A token that acts as the agent for its scopes only; shown once."""
    agent = _agent(Agents(crm.session), agent_id)
    try:
        issued = AgentTokens(crm.session).issue(
            agent, body.scopes, days=body.days, issued_by=admin, source=source, label=body.label
        )
    except AgentError as error:
        raise _invalid(error) from None
    return IssuedApiToken(
        id=issued.id,
        token=issued.token,
        agent_id=issued.agent_id,
        scopes=list(issued.scopes),
        expires_at=issued.expires_at.isoformat(),
    )


@router.get("/tokens")
def list_tokens(admin: Admin, crm: CRMSession) -> ApiTokens:
    return ApiTokens.model_validate({"items": AgentTokens(crm.session).listed()})


@router.delete("/tokens/{token_id}")
def revoke_token(
    admin: AdminChange,
    token_id: Annotated[int, Path(ge=1)],
    crm: CRMSession,
    source: AuditSource,
) -> Status:
    try:
        AgentTokens(crm.session).revoke(token_id, revoked_by=admin, source=source)
    except AgentError:
        raise HTTPException(404, "no such token") from None
    return Status(status="revoked")


# --- the audit trail -----------------------------------------------------------------------


@router.get("/audit")
def audit_trail(
    admin: Admin,
    crm: CRMSession,
    action: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditTrailPage:
    """The newest entries first, optionally of one action (`login.refused`, ...)."""
    items = Agents(crm.session).audit.recent(action=action, limit=limit)
    return AuditTrailPage.model_validate({"items": items})
