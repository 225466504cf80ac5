"""What the chat's erasure action and the Rasa tracker store agree on.

The action (actions/privacy.py) erases the customer's conversations, the current one included,
and ends the turn with a restart. The turn's own events are saved after the action has run: the
store (assistant/tracker_store.py) saves none of them when they hold this action followed by a
restart, so the customer's last words and the bot's replies do not come back after the erasure.
"""

from __future__ import annotations

ERASURE_ACTION = "action_erase_personal_data"
