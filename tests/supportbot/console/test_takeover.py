"""The takeover queue on real databases (SQLite, and PostgreSQL when configured): the view,
exactly one agent wins a claim however many race, only the holder releases, resumes elsewhere
take the conversation out of the queue. (Handoffs queueing: tests/actions/test_handoff_queue.py.)"""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from supportbot.console import auth
from supportbot.console.models import HandoffRequest, HandoffState
from supportbot.console.takeover import (
    AlreadyClaimed,
    Claim,
    NotClaimed,
    NotInQueue,
    NotWaiting,
    NotYourClaim,
)
from supportbot.crm.models import Base
from supportbot.store import crm_session
from tests.supportbot.console.conftest import agent_id, hand_over, zoe_id

SENDER = "conv-1"


@pytest.fixture
def url(takeover_url: str) -> str:
    return takeover_url


def row(url: str, sender_id: str = SENDER) -> HandoffRequest | None:
    with crm_session(url) as crm:
        return crm.session.get(HandoffRequest, sender_id)


def claim(url: str, sender_id: str, agent: int) -> Claim:
    with crm_session(url) as crm:
        return crm.handoffs.claim(sender_id, agent)


def release(url: str, sender_id: str, agent: int) -> None:
    with crm_session(url) as crm:
        crm.handoffs.release(sender_id, agent)


# --- the schema ----------------------------------------------------------------------------


def test_migration_0005_creates_the_table_the_model_describes(db_connection: Connection):
    context = MigrationContext.configure(db_connection)
    differences = compare_metadata(context, Base.metadata)
    assert [d for d in differences if "handoff_queue" in repr(d)] == []


# --- the queue view ------------------------------------------------------------------------


def test_the_queue_lists_waiting_oldest_first_then_claimed_and_drops_handed_back(url: str):
    zoe = zoe_id(url)
    sam = agent_id(url, "sam")
    for sender in ("old", "claimed", "returned", "new"):
        hand_over(url, sender, customer_id=zoe if sender == "old" else None)
    claim(url, "claimed", sam)
    claim(url, "returned", sam)
    release(url, "returned", sam)

    with crm_session(url) as crm:
        items = crm.handoffs.items()

    assert [(i["sender_id"], i["state"]) for i in items] == [
        ("old", "waiting"),
        ("new", "waiting"),
        ("claimed", "claimed"),
    ]
    old, _, claimed = items
    assert old["customer"] == {"id": zoe, "name": "Zoë Quinn"} and old["agent"] is None
    assert old["reason"] == "The customer asked for a person." and old["priority"] == "high"
    assert old["requested_at"].endswith("+00:00") and old["claimed_at"] is None
    assert claimed["customer"] is None and claimed["agent"] == {"id": sam, "name": "Sam Lee"}
    assert claimed["claimed_at"].endswith("+00:00")


# --- claims --------------------------------------------------------------------------------


def test_a_claim_takes_a_waiting_conversation_once(url: str):
    sam, alex = agent_id(url, "sam"), agent_id(url, "alex")
    hand_over(url, SENDER)

    assert claim(url, SENDER, sam) == Claim(SENDER, sam, "Sam Lee", new=True)
    # The same agent again (a double click): still theirs, nothing new to announce.
    assert claim(url, SENDER, sam).new is False
    with pytest.raises(AlreadyClaimed, match=r"^already claimed by Sam Lee$"):
        claim(url, SENDER, alex)
    with pytest.raises(NotWaiting):
        claim(url, "never-handed-over", alex)
    release(url, SENDER, sam)
    with pytest.raises(NotWaiting):
        claim(url, SENDER, alex)

    stored = row(url)
    assert stored is not None and stored.agent_id == sam


def _agents(url: str, count: int) -> list[int]:
    with crm_session(url) as crm:
        agents = auth.Agents(crm.session)
        ids = []
        for n in range(count):
            email = f"racer{n}@support.test"
            found = agents.find_by_email(email)
            ids.append(found.id if found else agents.create(email, f"Racer {n}", "x" * 12).id)
        return ids


# Each racer has a connection of its own, which must see the others' commits.
@pytest.mark.committed
@pytest.mark.parametrize("round_", range(5))
def test_concurrent_claims_have_exactly_one_winner(url: str, round_: int):
    """Eight agents, each in their own thread with their own session, claim at the same moment."""
    racers = _agents(url, 8)
    sender = f"race-{round_}"
    hand_over(url, sender)
    start = threading.Barrier(len(racers))
    outcomes: dict[int, Claim | Exception] = {}

    def race(agent: int) -> None:
        start.wait()
        try:
            outcomes[agent] = claim(url, sender, agent)
        except Exception as error:  # (collected and checked below)
            outcomes[agent] = error

    threads = [threading.Thread(target=race, args=(agent,)) for agent in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [agent for agent, result in outcomes.items() if isinstance(result, Claim)]
    assert len(outcomes) == len(racers) and len(winners) == 1, outcomes
    (winner,) = winners
    assert outcomes[winner] == Claim(sender, winner, f"Racer {racers.index(winner)}", new=True)
    losers = [result for agent, result in outcomes.items() if agent != winner]
    assert all(isinstance(r, AlreadyClaimed) for r in losers), losers
    assert {str(r) for r in losers} == {f"already claimed by Racer {racers.index(winner)}"}
    stored = row(url, sender)
    assert stored is not None and stored.state is HandoffState.CLAIMED
    assert stored.agent_id == winner


# The second claim must block on the first one's lock, on a connection of its own.
@pytest.mark.committed
def test_a_claim_waits_for_a_concurrent_one_and_then_loses(url: str):
    """The second claim blocks on the first one's lock and, once that commits, finds the row no
    longer waiting (a deterministic interleaving of the race above)."""
    sam, alex = agent_id(url, "sam"), agent_id(url, "alex")
    hand_over(url, SENDER)
    outcome: list[Claim | Exception] = []

    def second() -> None:
        try:
            outcome.append(claim(url, SENDER, alex))
        except Exception as error:
            outcome.append(error)

    with crm_session(url) as first:
        assert first.handoffs.claim(SENDER, sam).new
        contender = threading.Thread(target=second)
        contender.start()
        contender.join(timeout=1.0)
        assert contender.is_alive(), "the second claim did not wait for the first"
    contender.join(timeout=30)

    assert len(outcome) == 1 and isinstance(outcome[0], AlreadyClaimed)
    assert str(outcome[0]) == "already claimed by Sam Lee"


def test_an_undone_claim_is_waiting_again_for_anyone(url: str):
    sam, alex = agent_id(url, "sam"), agent_id(url, "alex")
    hand_over(url, SENDER)
    claim(url, SENDER, sam)
    with crm_session(url) as crm:
        crm.handoffs.unclaim(SENDER, alex)  # not theirs: nothing happens
    assert (stored := row(url)) and stored.agent_id == sam
    with crm_session(url) as crm:
        crm.handoffs.unclaim(SENDER, sam)
    assert (stored := row(url)) and stored.state is HandoffState.WAITING
    assert stored.agent_id is None and stored.claimed_at is None
    assert claim(url, SENDER, alex).new


# --- who may write and hand back -----------------------------------------------------------


def test_only_the_holder_writes_or_releases(url: str):
    sam, alex = agent_id(url, "sam"), agent_id(url, "alex")
    hand_over(url, SENDER)

    def check(agent: int) -> None:
        with crm_session(url) as crm:
            crm.handoffs.check_holder(SENDER, agent)

    with pytest.raises(NotInQueue):
        release(url, "never-handed-over", sam)
    with pytest.raises(NotClaimed):
        check(sam)
    with pytest.raises(NotClaimed):
        release(url, SENDER, sam)
    claim(url, SENDER, sam)
    check(sam)
    with pytest.raises(NotYourClaim):
        check(alex)
    with pytest.raises(NotYourClaim):
        release(url, SENDER, alex)
    stored = row(url)
    assert stored is not None and stored.state is HandoffState.CLAIMED and stored.agent_id == sam

    release(url, SENDER, sam)

    stored = row(url)
    assert stored is not None and stored.state is HandoffState.RETURNED
    assert stored.returned_at is not None and stored.agent_id == sam  # who had it stays recorded
    with pytest.raises(NotClaimed):
        release(url, SENDER, sam)
    with crm_session(url) as crm:
        assert crm.handoffs.items() == []
