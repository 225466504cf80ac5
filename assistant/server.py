"""The Rasa server as the project runs it: Rasa 3.6.21's own `rasa run`, with measured fixes.

`python -m assistant.server run ...` takes `rasa run`'s arguments.

- Each action server response is checked against Rasa's response schema by a validator built
  once. Rasa calls `jsonschema.validate()`, which checks the schema itself again on every call
  (jsonschema 4.17, the newest Rasa 3.6 allows): under load that was the largest single cost in
  the Rasa process (reports/load.md). Same schema, same errors, same message.
- The HTTP API's token comes from the environment ($SUPPORTBOT_RASA_TOKEN), never the command
  line, where any local user can read it.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

from assistant.environment import api_token

# Rasa's own wording (rasa/core/actions/action.py, RemoteAction._validate_action_result).
_INVALID_RESPONSE_NOTE = (
    ". Failed to validate Action server response from API, make sure your response from the "
    "Action endpoint is valid. For more information about the format visit "
    f"{DOCS_BASE_URL}/custom-actions"
)


@cache
def _action_result_validator() -> Validator:
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(_: RemoteAction, result: dict[str, Any]) -> bool:
    """What `jsonschema.validate(result, schema)` does, without re-checking the schema."""
    error = best_match(_action_result_validator().iter_errors(result))
    if error is not None:
        error.message += _INVALID_RESPONSE_NOTE
        raise error
    return True


def install() -> None:
    """Put the fixes in place; before Rasa loads anything."""
    RemoteAction._validate_action_result = validate_action_result


def main() -> None:
    install()
    token = api_token()
    if token and "--auth-token" not in sys.argv:
        # Added after exec: /proc/<pid>/cmdline still shows the command without it.
        sys.argv += ["--auth-token", token]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
