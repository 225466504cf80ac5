"""`make validate`: Rasa's data validation may print only warnings that are known to be harmless.

    rasa data validate 2>&1 | tee LOG; python -m lab.rasa_warnings LOG

Rasa warns about every response that no story or rule names, but this bot's custom actions say
many responses themselves (`dispatcher.utter_message(response=...)`) and forms ask with
`utter_ask_<slot>`; and about intents that only fill slots or that buttons send. Each such
warning is accepted only after checking that claim against the code and the domain, and Rasa's
own unconditional notice
about slot auto-fill is accepted; any other warning (misaligned entity annotations, conflicting
synonyms, a response nothing says...) fails the stage.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from supportbot.settings import PROJECT_ROOT

WARNING = re.compile(r"UserWarning: (.*)")
UNUSED_UTTERANCE = re.compile(r"The utterance '(\w+)' is not used in any story or rule\.")
UNUSED_INTENT = re.compile(r"The intent '(\w+)' is not used in any story or rule\.")
RASA_NOTICE = "Slot auto-fill has been removed in 3.0"


def _action_sources(root: Path) -> str:
    return "\n".join(path.read_text() for path in sorted((root / "actions").glob("*.py")))


def _slot_mapping_intents(domain: dict) -> set[str]:
    intents: set[str] = set()
    for slot in (domain.get("slots") or {}).values():
        for mapping in slot.get("mappings") or []:
            named = mapping.get("intent")
            intents.update([named] if isinstance(named, str) else named or [])
    return intents


def _form_questions(domain: dict) -> set[str]:
    # A form's validation action may ask for any slot of the domain (required_slots grows at
    # run time, e.g. the email after the order number), so every slot's question counts.
    slots = list(domain.get("slots") or {})
    asked = {f"utter_ask_{slot}" for slot in slots}
    for form in domain.get("forms") or {}:
        asked.update(f"utter_ask_{form}_{slot}" for slot in slots)
    return asked


def unexplained(messages: list[str], root: Path = PROJECT_ROOT) -> list[str]:
    """The warnings that none of the known, checked reasons explains."""
    domain_text = (root / "domain.yml").read_text()
    domain = yaml.safe_load(domain_text)
    actions, questions = _action_sources(root), _form_questions(domain)
    filling = _slot_mapping_intents(domain)
    left = []
    for message in messages:
        utterance = UNUSED_UTTERANCE.fullmatch(message.strip())
        intent = UNUSED_INTENT.fullmatch(message.strip())
        if utterance and (f'"{utterance[1]}"' in actions or utterance[1] in questions):
            continue
        # An intent that only fills slots, or that buttons send ("/inform{...}") and actions read.
        if intent and (
            intent[1] in filling or f"/{intent[1]}" in domain_text or f'"{intent[1]}"' in actions
        ):
            continue
        if message.startswith(RASA_NOTICE):
            continue
        left.append(message)
    return left


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m lab.rasa_warnings LOG", file=sys.stderr)
        return 2
    text = Path(args[0]).read_text(errors="replace")
    messages = [match[1] for match in WARNING.finditer(text)]
    left = unexplained(messages)
    if left:
        print(f"Rasa printed {len(left)} warning(s) that need fixing:", file=sys.stderr)
        for message in left:
            print(f"  - {message}", file=sys.stderr)
        return 1
    print(f"Rasa's {len(messages)} warning(s) are all known and checked: none to fix.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
