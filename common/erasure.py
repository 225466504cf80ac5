"""What the chat's erasure action and the Rasa tracker store agree on.

The action (actions/privacy.py) erases the customer's conversations, the current one included,
and ends the turn with a restart. The turn's own events are saved after the action has run: the
store (assistant/tracker_store.py) saves none of them when they hold this action followed by a
restart, so the customer's last words and the bot's replies do not come back after the erasure.
"""

from __future__ import annotations

ERASURE_ACTION = "action_erase_personal_data"
# How long Rasa waits for that action, instead of SUPPORTBOT_ACTION_TIMEOUT: the erasure's work
# grows with the stores (it scans the tracker store for the email), a customer waits for it once,
# and an erasure cut off by the timeout would be reported as failed while it goes on. Under the
# web app's 30 s wait for Rasa.
ERASURE_TIMEOUT_S = 25.0
