"""Console analytics: exact figures on a hand-made set, on SQLite and PostgreSQL, and the API.

PostgreSQL runs in a session time zone far from UTC, so a figure that bucketed days or hours in
the session's zone instead of UTC would come out wrong.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from supportbot.console.analytics import MAX_PERIOD_DAYS, analytics, period
from supportbot.console.conversations import InvalidInput
from supportbot.store import crm_session
from tests.supportbot.console.conftest import PASSWORD, add_conversation, create_agent
from tests.supportbot.web.conftest import FakeRasa, client_for, make_settings

# UTC+14: 2026-01-04 23:59:59 UTC is already the 5th there, 09:15 UTC is 23:15.
PG_TIME_ZONE = "Pacific/Kiritimati"


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def add_analytics_set(url: str) -> None:
    add_conversation(
        url,
        "an-1",
        started_at=at(2, 9, 15),
        intents=["greet", "track_order"],
        sentiment=0.5,
        csat=5,
    )
    add_conversation(
        url,
        "an-2",
        started_at=at(2, 9, 45),
        # An intent said twice is still one conversation about it.
        intents=["track_order", "track_order", "complaint"],
        handoff=True,
        sentiment=-0.5,
        csat=1,
        fallback_count=2,
    )
    add_conversation(
        url, "an-3", started_at=at(4, 23, 59, 59), intents=["get_refund"], fallback_count=1
    )
    add_conversation(url, "an-4", started_at=at(5, 0, 0, 0), sentiment=0.2)
    # Just outside 2026-01-02..2026-01-07.
    add_conversation(url, "an-before", started_at=at(1, 23, 59, 59), intents=["greet"])
    add_conversation(url, "an-after", started_at=at(8, 0, 0, 0), intents=["greet"], handoff=True)
    # Eleven intents in one conversation: the top list stops at ten.
    many = [f"intent_{n:02d}" for n in range(11)]
    add_conversation(url, "an-many", started_at=at(1, 8, month=3), intents=list(reversed(many)))


@pytest.fixture
def analytics_url(crm_url: str, db_connection: Connection) -> str:
    if db_connection.dialect.name == "postgresql":
        # For the test's transaction, which every session of the code under test joins.
        db_connection.exec_driver_sql(f"SET LOCAL TIME ZONE '{PG_TIME_ZONE}'")
    add_analytics_set(crm_url)
    return crm_url


def figures(url: str, first: date, last: date) -> dict:
    with crm_session(url) as crm:
        return analytics(crm.session, period(first, last))


def test_exact_figures_for_a_period(analytics_url: str):
    result = figures(analytics_url, date(2026, 1, 2), date(2026, 1, 7))
    assert result["period"] == {"from": "2026-01-02", "to": "2026-01-07"}
    assert result["conversations"] == 4
    assert result["volume"] == [
        {"day": "2026-01-02", "conversations": 2},
        {"day": "2026-01-03", "conversations": 0},
        {"day": "2026-01-04", "conversations": 1},
        {"day": "2026-01-05", "conversations": 1},
        {"day": "2026-01-06", "conversations": 0},
        {"day": "2026-01-07", "conversations": 0},
    ]
    assert result["containment_rate"] == 0.75
    assert result["handoff_rate"] == 0.25
    assert result["fallback_rate"] == 0.5
    assert result["average_sentiment"] == round(0.2 / 3, 4)  # three conversations have one
    assert result["average_csat"] == 3.0 and result["csat_responses"] == 2
    assert result["top_intents"] == [
        {"intent": "track_order", "conversations": 2},
        {"intent": "complaint", "conversations": 1},
        {"intent": "get_refund", "conversations": 1},
        {"intent": "greet", "conversations": 1},
    ]
    hours = {h["hour"]: h["conversations"] for h in result["busiest_hours"]}
    assert [h["hour"] for h in result["busiest_hours"]] == list(range(24))
    assert {h: n for h, n in hours.items() if n} == {0: 1, 9: 2, 23: 1}


def test_one_day_and_its_boundaries(analytics_url: str):
    result = figures(analytics_url, date(2026, 1, 1), date(2026, 1, 1))
    assert result["conversations"] == 1 and result["volume"] == [
        {"day": "2026-01-01", "conversations": 1}
    ]
    assert result["handoff_rate"] == 0.0 and result["containment_rate"] == 1.0
    assert result["average_sentiment"] is None and result["average_csat"] is None
    result = figures(analytics_url, date(2026, 1, 8), date(2026, 1, 8))
    assert result["conversations"] == 1 and result["handoff_rate"] == 1.0


def test_an_empty_period(analytics_url: str):
    result = figures(analytics_url, date(2026, 6, 1), date(2026, 6, 3))
    assert result == {
        "period": {"from": "2026-06-01", "to": "2026-06-03"},
        "conversations": 0,
        "volume": [{"day": f"2026-06-0{d}", "conversations": 0} for d in (1, 2, 3)],
        "containment_rate": None,
        "handoff_rate": None,
        "fallback_rate": None,
        "average_sentiment": None,
        "average_csat": None,
        "csat_responses": 0,
        "top_intents": [],
        "busiest_hours": [{"hour": h, "conversations": 0} for h in range(24)],
    }


def test_top_intents_stop_at_ten(analytics_url: str):
    result = figures(analytics_url, date(2026, 3, 1), date(2026, 3, 1))
    assert [i["intent"] for i in result["top_intents"]] == [f"intent_{n:02d}" for n in range(10)]
    assert result["busiest_hours"][8] == {"hour": 8, "conversations": 1}


def test_the_period_defaults_to_the_last_30_days():
    today = date(2026, 5, 31)
    assert period(None, None, today=today) == period(date(2026, 5, 2), today)
    assert period(None, date(2026, 1, 30)).first == date(2026, 1, 1)
    assert period(date(2025, 1, 1), date(2025, 12, 31)).days == 365
    assert period(date(2024, 1, 1), date(2024, 12, 31)).days == MAX_PERIOD_DAYS


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (date(2026, 1, 2), date(2026, 1, 1), "date_to"),
        (date(2024, 1, 1), date(2025, 1, 1), "date_from"),  # 367 days
    ],
)
def test_bad_periods_are_refused(first: date, last: date, field: str):
    with pytest.raises(InvalidInput) as refused:
        period(first, last)
    assert refused.value.field == field


# --- over the API ------------------------------------------------------------------------


@pytest.fixture
def console(analytics_url: str) -> TestClient:
    create_agent(analytics_url)
    web = client_for(FakeRasa(), make_settings(database_url=analytics_url))
    response = web.post(
        "/api/console/login", json={"email": "sam@support.test", "password": PASSWORD}
    )
    assert response.status_code == 200
    return web


def test_the_analytics_route(console: TestClient):
    response = console.get(
        "/api/console/analytics", params={"date_from": "2026-01-02", "date_to": "2026-01-07"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["conversations"] == 4 and body["top_intents"][0] == {
        "intent": "track_order",
        "conversations": 2,
    }
    default = console.get("/api/console/analytics").json()
    today = datetime.now(UTC).date()
    assert default["period"] == {
        "from": (today - timedelta(days=29)).isoformat(),
        "to": today.isoformat(),
    }
    assert len(default["volume"]) == 30


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"date_from": "2026-01-07", "date_to": "2026-01-02"},
            "Invalid request: date_to: must not be before date_from",
        ),
        (
            {"date_from": "2024-01-01", "date_to": "2025-01-01"},
            f"Invalid request: date_from: a period spans at most {MAX_PERIOD_DAYS} days",
        ),
        ({"date_from": "2026-02-30"}, "Invalid request: date_from: "),
        ({"date_from": "2999-01-01"}, "Invalid request: date_from: must not be after today"),
        ({"date_to": "yesterday"}, "Invalid request: date_to: "),
    ],
)
def test_the_analytics_route_names_a_bad_period(
    console: TestClient, params: dict[str, str], message: str
):
    response = console.get("/api/console/analytics", params=params)
    assert response.status_code == 422
    assert response.json()["error"].startswith(message)
