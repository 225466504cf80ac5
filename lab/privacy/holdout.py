"""The held-out PII set, data/privacy/pii_holdout.jsonl, from lab/privacy/holdout_source.txt.

The source holds support messages written by hand with inline labels (`[[Ada Lovelace|PERSON]]`),
independently of dataset.py's sentences and values and after the detector was frozen, so that
the benchmark has a test set nobody tuned on. `python -m lab.privacy.holdout` rewrites the JSONL
identically (same format as pii_messages.jsonl, split "holdout") and refuses a source whose
labels are not what they claim: a marked card must pass the Luhn check, an IBAN its mod-97
check, a phone number libphonenumber's validity check, and no unmarked digit run may be a valid
card number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import phonenumbers

from lab.privacy.dataset import Message, Span, counts, luhn_check_digit, unmark
from supportbot.settings import PII_ENTITIES, PROJECT_ROOT

SOURCE = Path(__file__).with_name("holdout_source.txt")
HOLDOUT = PROJECT_ROOT / "data" / "privacy" / "pii_holdout.jsonl"
SPLIT = "holdout"
SEPARATOR = "~~~"
# Regions the set's numbers without a country code are written for.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "IE", "ES", "IT", "NL", "AU")
IBAN_LENGTHS = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18,
    "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IT": 27, "LT": 20,
    "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24, "SK": 24,
}  # fmt: skip
# Digit groups joined by single spaces or dashes, as card numbers are typed.
DIGIT_RUN = re.compile(r"(?<![\w-])\d+(?:[ -]\d+)*(?![\w-])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LABEL = re.compile(r"\[\[.*?\]\]", re.DOTALL)


def luhn_valid(digits: str) -> bool:
    return len(digits) > 1 and luhn_check_digit(digits[:-1]) == int(digits[-1])


def iban_valid(value: str) -> bool:
    code = value.replace(" ", "").upper()
    if IBAN_LENGTHS.get(code[:2]) != len(code):
        return False
    return int("".join(str(int(char, 36)) for char in code[4:] + code[:4])) % 97 == 1


def phone_valid(value: str) -> bool:
    for region in PHONE_REGIONS:
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


def _digits(value: str) -> str:
    return "".join(char for char in value if char.isdigit())


def card_valid(value: str) -> bool:
    return 13 <= len(_digits(value)) <= 19 and luhn_valid(_digits(value))


CHECKS: dict[str, Callable[[str], object]] = {
    "CREDIT_CARD": card_valid,
    "IBAN_CODE": iban_valid,
    "PHONE_NUMBER": phone_valid,
    "EMAIL_ADDRESS": EMAIL.fullmatch,
}


def problems(message: Message) -> list[str]:
    """What is wrong with a message's labels (nothing, for a good one)."""
    found = []
    if "[[" in message.text or "]]" in message.text:
        found.append("unclosed [[...]] markup")
    for span in message.spans:
        value = message.text[span.start : span.end]
        if span.entity not in PII_ENTITIES:
            found.append(f"unknown type {span.entity}")
        elif not value or value.strip() != value:
            found.append(f"{span.entity} {value!r} is empty or has spaces around it")
        elif span.entity in CHECKS and not CHECKS[span.entity](value):
            found.append(f"{span.entity} {value!r} fails its check")
    labelled = [(s.start, s.end) for s in message.spans]
    for run in DIGIT_RUN.finditer(message.text):
        digits = _digits(run.group())
        inside = any(start <= run.start() and run.end() <= end for start, end in labelled)
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and not inside:
            found.append(f"unmarked {run.group()!r} passes the Luhn check: mark it or change it")
    return found


def _unmark(block: str) -> tuple[str, tuple[Span, ...]]:
    # unmark reads a label within one line; an address written on several lines is one label.
    hidden = LABEL.sub(lambda label: label.group().replace("\n", "\0"), block)
    text, spans = unmark(hidden)
    return text.replace("\0", "\n"), spans


def build(source: Path = SOURCE, split: str = SPLIT) -> list[Message]:
    blocks = source.read_text(encoding="utf-8").split(f"\n{SEPARATOR}\n")[1:]  # [0]: the header
    messages, errors = [], []
    for number, block in enumerate(blocks, start=1):
        if not block.strip():
            continue
        text, spans = _unmark(block.strip())
        message = Message(text, spans, split, "hand-written")
        errors += [f"message {number}: {problem}" for problem in problems(message)]
        messages.append(message)
    if errors:
        raise ValueError(f"{source}:\n" + "\n".join(errors))
    return messages


def write(source: Path, target: Path, split: str) -> None:
    """Convert a hand-written source to its JSONL set (holdout2.py reuses this for the second)."""
    messages = build(source, split)
    target.write_text("".join(m.to_json() + "\n" for m in messages), encoding="utf-8")
    print(f"Wrote {len(messages)} messages to {target}")
    for line in counts(messages, (split,)):
        print(line)


def main() -> None:
    write(SOURCE, HOLDOUT, SPLIT)


if __name__ == "__main__":
    main()
