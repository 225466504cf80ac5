"""The console's privacy panel reads GET /api/console/privacy: the retention policy, what is
masked before storage, and the retention job's last run (from the audit trail)."""

from __future__ import annotations

from supportbot.privacy.retention import run_retention
from supportbot.settings import PrivacyRules
from tests.supportbot.console.conftest import PASSWORD, create_agent
from tests.supportbot.web.conftest import FakeRasa, client_for, make_settings


def test_the_policy_and_the_last_run(crm_url: str) -> None:
    create_agent(crm_url)
    settings = make_settings(
        database_url=crm_url,
        privacy=PrivacyRules(retention_days=90, stored_entities=("CREDIT_CARD", "IBAN_CODE")),
    )
    console = client_for(FakeRasa(), settings)
    assert console.get("/api/console/privacy").status_code == 401
    login = {"email": "sam@support.test", "password": PASSWORD}
    assert console.post("/api/console/login", json=login).status_code == 200

    before = console.get("/api/console/privacy").json()
    run_retention(settings, progress=lambda _: None)
    after = console.get("/api/console/privacy").json()

    assert before == {
        "retention_days": 90,
        "retention_interval_hours": 24,
        "keep_tag": "keep",
        "masked_entities": ["CREDIT_CARD", "IBAN_CODE"],
        "last_run": None,
    }
    last = after["last_run"]
    assert (last["by"], last["succeeded"], last["retention_days"], last["erased"]) == (
        "cli",
        True,
        90,
        0,
    )
