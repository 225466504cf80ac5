"""What customers type, read one way everywhere: order and invoice numbers, email addresses and
free text.

The actions read slots and messages with these rules and the repositories read their arguments
with them, so an order number the assistant accepts is one the CRM can look up.
"""

from __future__ import annotations

import re

# Six digits, alone or after '#', 'order', 'order no.' or 'order number'.
_ORDER_NUMBER = re.compile(r"^\s*(?:order\s*(?:no\.?|number)?\s*)?#?\s*(\d{6})\s*$", re.IGNORECASE)
# Six digits in a sentence ("it's #100001, thanks"), not part of a longer number.
_ORDER_NUMBER_IN_TEXT = re.compile(r"(?<!\d)#?(\d{6})(?!\d)")
_INVOICE_NUMBER = re.compile(r"^\s*(?:inv)?[\s#-]*(\d{6})\s*$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[A-Za-z]{2,}$")
# In a sentence an address ends at the punctuation that surrounds it: <…>, (…), "…", a comma.
# Linear time: a match starts only at the start of a run of address characters (the lookbehind)
# and every repeat is bounded, so a long run without spaces is not scanned again from each of its
# characters (20 KB took 4 s before).
_ADDRESS_CHARACTER = r"[^@\s<>()\[\],;:\"']"
_EMAIL_IN_TEXT = re.compile(
    rf"(?<!{_ADDRESS_CHARACTER}){_ADDRESS_CHARACTER}{{1,64}}@{_ADDRESS_CHARACTER}{{1,255}}"
    r"\.[A-Za-z]{2,63}"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_CONTROL_BUT_TAB_AND_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]+")


def _first(value: object) -> object:
    """A slot's value: Rasa fills in a list when it extracts an entity twice; the first counts."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def parse_order_number(value: object) -> str | None:
    """'#100001', 'Order no. 100001', ' 100001 ' or 100001 -> '100001'; anything else -> None."""
    value = _first(value)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        return None
    match = _ORDER_NUMBER.match(value)
    return match.group(1) if match else None


def find_order_number(text: str) -> str | None:
    """The first order number written anywhere in a message, or None."""
    match = _ORDER_NUMBER_IN_TEXT.search(text)
    return match.group(1) if match else None


def parse_invoice_number(value: object) -> str | None:
    """'INV-500001', 'inv500001', '#500001' or '500001' -> 'INV-500001'; anything else -> None."""
    match = _INVOICE_NUMBER.match(value) if isinstance(value, str) else None
    return f"INV-{match.group(1)}" if match else None


def canonical_email(email: str) -> str:
    """An email address as the CRM stores and compares it."""
    return email.strip().lower()


def parse_email(value: object) -> str | None:
    """A plausible email address, canonical and without trailing punctuation, or None."""
    value = _first(value)
    if not isinstance(value, str):
        return None
    email = canonical_email(value).strip(".,;")
    return email if _EMAIL.match(email) else None


def find_email(text: str) -> str | None:
    """The first email address written anywhere in a message (as written), or None."""
    match = _EMAIL_IN_TEXT.search(text)
    return match.group(0) if match else None


def customer_text(value: object, *, multiline: bool) -> str:
    """What the customer typed, stripped, each run of control characters made one space; '' for
    anything but text.

    `multiline` keeps tabs and newlines: a ticket description or a comment is read as written,
    while an address goes on one line (a shipping label, the reply that confirms it).
    """
    control = _CONTROL_BUT_TAB_AND_NEWLINE if multiline else _CONTROL
    return control.sub(" ", value if isinstance(value, str) else "").strip()
