"""Knowledge-base articles from Bitext's answer bank (CDLA-Sharing-1.0), for informational intents.

    python -m lab.datasets.bitext_answers --out data/kb/bitext_answers.yml

Per intent, one response is picked deterministically: the shortest one that reads as an answer
(no question back to the customer, nothing that contradicts the shop, such as "24/7" support or
account tiers) and whose `{{Placeholder}}`s are all in the shop-facts table below. A few of the
intent's instructions become the article's questions.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from lab.datasets import DatasetMissing
from lab.datasets.bitext import dataset_dir

ANSWER_BANK = "bitext_customer_support_2023-08-18_4514rows.csv"
QUESTIONS_PER_ARTICLE = 6

# The intents that ask for information (not for an action on an order); their article titles.
# check_cancellation_fee is left out: Bitext's answers to it are about contract early-exit fees,
# which this shop does not charge.
INTENTS: dict[str, str] = {
    "check_payment_methods": "Finding the accepted payment methods",
    "delivery_options": "Delivery options",
    "delivery_period": "Checking the delivery time of an order",
    "check_refund_policy": "Refund policy",
    "newsletter_subscription": "Subscribing to the newsletter",
    "review": "Leaving a review",
    "create_account": "Creating a user account",
    "recover_password": "Recovering access to your account",
    "registration_problems": "Reporting sign-up problems",
    "edit_account": "Editing your account details",
    "delete_account": "Deleting your account",
    "set_up_shipping_address": "Adding a shipping address",
    "place_order": "Shopping on the website",
    "contact_customer_service": "Customer service hours",
}


@dataclass(frozen=True)
class Fact:
    """A placeholder's value; `after_determiner` is used after "our/the/your" if it reads better."""

    value: str
    after_determiner: str | None = None


_PHONE = Fact("+1 555 0100", "phone line, +1 555 0100,")
_EMAIL = Fact("support@example.com", "email address, support@example.com,")
_HOURS = Fact("Monday to Friday, 8am-8pm")
_WEBSITE = Fact("the shop's website", "website")

# The shop's facts, as domain.yml's responses state them; section names as the shop calls them.
FACTS: dict[str, Fact] = {
    "Customer Support Phone Number": _PHONE,
    "Customer Service Phone Number": _PHONE,
    "Support Phone Number": _PHONE,
    "Customer Support Email": _EMAIL,
    "Customer Support Email Address": _EMAIL,
    "Support Email": _EMAIL,
    "Customer Support Availability": _HOURS,
    "Customer Support Hours": _HOURS,
    "Customer Service Hours": _HOURS,
    "Live Chat": Fact("live chat"),
    "Website Name": _WEBSITE,
    "Website": _WEBSITE,
    "website": _WEBSITE,
    "Website URL": _WEBSITE,
    "Company Name": Fact("the shop"),
    "Account Settings": Fact("Account settings"),
    "Account": Fact("Account settings"),
    "My Account": Fact("Account settings"),
    "Profile": Fact("Account settings"),
    "Account Details": Fact("Account settings"),
    "Account Information": Fact("Account settings"),
    "Shipping Address": Fact("Addresses"),
    "Delivery Address": Fact("Addresses"),
    "Add New Address": Fact("Add address"),
    "Order History": Fact("Orders"),
    "My Orders": Fact("Orders"),
    "Order Details": Fact("Orders"),
    "Track Order": Fact("Orders"),
    "Order Tracking": Fact("Orders"),
    "Order Status": Fact("Orders"),
    "Invoices": Fact("Invoices"),
    "Invoice History": Fact("Invoices"),
    "Newsletter Subscription": Fact("Communication"),
    "Contact Us": Fact("Contact us"),
    "Help": Fact("Help"),
    "Support": Fact("Help"),
    "Checkout": Fact("Checkout"),
    "Delivery Options": Fact("Delivery options"),
    "Payment Methods": Fact("Payment methods"),
    "Payment Options": Fact("Payment methods"),
    "Save": Fact("Save"),
    "Submit": Fact("Submit"),
    "Edit": Fact("Edit"),
    "Update": Fact("Edit"),
}

_PLACEHOLDER = re.compile(r"(?:\b(?P<det>our|the|your)\s+)?\{\{(?P<name>[^{}]+)\}\}")
# Wording that asks the customer something back, or that contradicts this shop.
_UNFIT = re.compile(
    r"\?|provide (?:me|us)|please (?:share|provide|let)|kindly|could you|can you|let me know|"
    r"more details|specific questions|24/7|around the clock|24 hours|round-the-clock|toll-free|"
    r"\b(?:pro|premium|platinum|gold|freemium|diamond|standard|business|free) "
    r"(?:account|profile|plan)|\bapp\b|\bpin\b|\bkey\b|withdrawal|termination",
    re.IGNORECASE,
)
# A capitalised place name after from/to/in ("order from Liverpool"): not this shop's answer.
_PLACE = re.compile(r"\b(?:from|to|in) (?!The\b|Our\b|Your\b)[A-Z][A-Za-z]+")
# Bitext's words for things this shop does not have (PIN codes, contract fees, account tiers).
_UNFIT_QUESTION = re.compile(
    r"\bpin\b|\bkey\b|withdrawal|termination|\bfee|premium|platinum|gold|freemium|diamond|"
    r"standard|business|\bpro\b|(?:pro|free)\s*a\w{0,2}c",
    re.IGNORECASE,
)


class UnknownPlaceholder(KeyError):
    """A response uses a placeholder that the shop-facts table does not fill."""


def answer_bank_path() -> Path:
    return dataset_dir().parent / ANSWER_BANK


def load_answer_bank(path: Path | None = None) -> list[dict[str, str]]:
    path = path or answer_bank_path()
    if not path.exists():
        raise DatasetMissing(
            f"Bitext answer bank not found at {path}; set SUPPORTBOT_BITEXT_DIR to the folder "
            "holding intent_detection_splits/ and the answer-bank CSV"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def fill(response: str) -> str:
    """The response with every placeholder replaced by the shop's fact, or UnknownPlaceholder."""

    def replace(match: re.Match[str]) -> str:
        fact = FACTS.get(match["name"].strip())
        if fact is None:
            raise UnknownPlaceholder(match["name"])
        if match["det"] and fact.after_determiner:
            return f"{match['det']} {fact.after_determiner}"
        return f"{match['det']} {fact.value}" if match["det"] else fact.value

    filled = _PLACEHOLDER.sub(replace, response)
    # A fact that ends in a comma before punctuation ("phone line, +1 555 0100,.") reads badly.
    return re.sub(r",([.;:!])", r"\1", filled)


def _fits(response: str) -> bool:
    text = response.strip()
    if not text.endswith((".", "!")) or "{{" not in text:
        return False  # truncated, or generic text without any shop-specific step
    if _UNFIT.search(text) or _PLACE.search(_PLACEHOLDER.sub("", text)):
        return False
    # Digits outside placeholders and step numbers are made-up order numbers, fees or days.
    steps_removed = re.sub(r"(?m)^\s*\d+\.\s", "", _PLACEHOLDER.sub("", text))
    return not re.search(r"\d", steps_removed)


def pick_response(responses: list[str]) -> str | None:
    """The shortest fitting response whose placeholders can all be filled (ties: by text)."""
    for response in sorted(set(responses), key=lambda r: (len(r), r)):
        if not _fits(response):
            continue
        try:
            return _tidy(fill(response))
        except UnknownPlaceholder:
            continue
    return None


def _tidy(text: str) -> str:
    # Two placeholders may fill to the same section name: "the Orders or Orders section".
    text = re.sub(r"\b([A-Z][\w ]*?) or \1\b", r"\1", text)
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def pick_questions(instructions: list[str], count: int = QUESTIONS_PER_ARTICLE) -> list[str]:
    """A deterministic, order-independent sample of plain instructions (no placeholders)."""
    plain = {
        " ".join(i.split())
        for i in instructions
        if "{{" not in i
        and not re.search(r"\d", i)
        and not _PLACE.search(i)
        and not _UNFIT_QUESTION.search(i)
    }
    unique: dict[str, str] = {}
    for text in sorted(plain):  # sorted: which spelling of a duplicate is kept must not vary
        unique.setdefault(text.lower(), text)
    ranked = sorted(unique.values(), key=lambda t: hashlib.sha1(t.encode()).hexdigest())
    return ranked[:count]


def build_articles(rows: list[dict[str, str]]) -> tuple[list[dict[str, object]], list[str]]:
    """Articles for the informational intents, and the intents skipped for lack of a response."""
    responses: dict[str, list[str]] = defaultdict(list)
    instructions: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        responses[row["intent"]].append(row["response"])
        # Bitext tags offensive wording "W": fine for intent training, not as an article's question.
        if "W" not in row.get("tags", ""):
            instructions[row["intent"]].append(row["instruction"])
    articles: list[dict[str, object]] = []
    skipped = []
    for intent, title in INTENTS.items():
        body = pick_response(responses[intent])
        if body is None:
            skipped.append(intent)
            continue
        articles.append(
            {
                "slug": "bitext-" + intent.replace("_", "-"),
                "title": title,
                "intent": intent,
                "body": body,
                "questions": pick_questions(instructions[intent]),
            }
        )
    return articles, skipped


_HEADER = """\
# Generated from Bitext's "Customer Service Tagged Training Dataset for LLM-based Virtual
# Assistants" (bitext_customer_support_2023-08-18_4514rows.csv), (c) Bitext Innovations, 2023,
# CDLA-Sharing-1.0 (see NOTICE); this file is shared under the same licence.
# Placeholders filled with the shop's facts by lab/datasets/bitext_answers.py. Do not edit:
#   python -m lab.datasets.bitext_answers --out data/kb/bitext_answers.yml
"""


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Step-by-step answers read best as literal blocks.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(articles: list[dict[str, object]]) -> str:
    document = {"source": "bitext", "articles": articles}
    return _HEADER + yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.datasets.bitext_answers", description=__doc__
    )
    parser.add_argument("--out", default="data/kb/bitext_answers.yml")
    parser.add_argument("--csv", type=Path, default=None, help="the answer-bank CSV")
    args = parser.parse_args(argv)
    try:
        rows = load_answer_bank(args.csv)
    except DatasetMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    articles, skipped = build_articles(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_yaml(articles), encoding="utf-8")
    print(f"wrote {out} ({len(articles)} articles)")
    if skipped:
        print(f"no fitting response for: {', '.join(skipped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
