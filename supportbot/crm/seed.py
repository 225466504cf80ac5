"""A deterministic demo CRM: two documented customers, plus a synthetic customer base with a
two-year purchase and support history for the insights job to learn from.

Demo customers (also in the README; tests and reviewers rely on them):

- Ada Lovelace, ada@example.com
  - order 100001: shipped with UPS, tracking number 1Z999AA10123456784; invoice INV-500001 (paid)
  - order 100003: delivered; invoice INV-500003 (paid); refund RF-700001 (approved)
  - order 100004: pending, so it can still be cancelled
- Grace Hopper, grace@example.com
  - order 100002: processing (no tracking yet; its address can still change); invoice INV-500002
    (open)
  - order 100005: delivered

Everyone else is synthetic (generated names at example.net), drawn by this process so that
the insights job has real structure to find:

- Persona, in fixed shares (PERSONAS): loyal high spender 10%, regular 30%, occasional bargain
  hunter 30%, new (signed up in the last 3 months) 15%, churner 15% (last order 4-12 months
  ago). It sets the signup date, the purchase rate (orders a month, gamma-distributed per
  customer around the persona's mean), basket size and price level, and a mood that sets how
  often and how happily the customer contacts support.
- Orders over the two years before REFERENCE_DAY: a Poisson process with monthly seasonality by
  thinning (candidates at the peak rate, each kept with probability MONTH_FACTORS[month] / peak:
  Nov-Dec 1.8x, Jan-Feb 0.7x). Baskets mostly from one THEMES group (co-purchase rules).
- Status by age: after 20 days delivered (about 4% cancelled, 4% returned), before that pending,
  processing or shipped; every status occurs even in a small seed. Invoices for all but pending
  orders; refunds for returns, complained-about damaged or wrong items, and a few others.
- Conversations (Interaction) after some orders and now and then about the account, more for
  unhappy customers: intents, per-message sentiment, outcome (resolved, handoff, or None when
  abandoned, as the assistant records them), fallbacks, satisfaction estimate. About 40% have a
  CSAT rating, a noisy function of sentiment, outcome, handoff, fallbacks and mood (not the
  estimate's formula); half of those a comment: praise for high ratings, complaint themes
  (COMPLAINT_TEXTS) for low ones.
- Complaints precede churn: churners complain (negative, low CSAT, mostly with a complaint
  ticket) in the eight weeks before their last order; a quarter of regulars complain once and
  are put right. Handoffs leave a handoff ticket.

Numbering: orders from 100100, invoices from INV-500100, refunds from RF-700100; conversations'
sender ids are `seed-<customer index>-<n>`. Dates are relative to a fixed reference day and
everything comes from one random.Random(random_seed): two seeds with the same arguments are
identical.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from supportbot.crm.models import (
    Customer,
    Interaction,
    Invoice,
    InvoiceStatus,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
    Ticket,
    TicketKind,
    TicketStatus,
)
from supportbot.crm.profile import satisfaction_estimate, sentiment_trend

REFERENCE_DAY = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CENT = Decimal("0.01")

PRODUCTS = [
    ("SKU-1001", "Ceramic coffee mug", "14.50"),
    ("SKU-1002", "French press, 1 l", "39.90"),
    ("SKU-1003", "Ground coffee, 500 g", "12.95"),
    ("SKU-1004", "Electric kettle", "59.00"),
    ("SKU-1005", "Tea sampler box", "24.00"),
    ("SKU-1006", "Wool throw blanket", "79.00"),
    ("SKU-1007", "Linen napkins (4)", "22.50"),
    ("SKU-1008", "Cast-iron skillet", "49.95"),
    ("SKU-1009", "Chef's knife", "89.00"),
    ("SKU-1010", "Bamboo cutting board", "27.00"),
    ("SKU-1011", "Scented candle", "18.00"),
    ("SKU-1012", "Desk lamp", "64.00"),
    ("SKU-1013", "Notebook, dotted", "9.50"),
    ("SKU-1014", "Fountain pen", "45.00"),
    ("SKU-1015", "Wireless earbuds", "129.00"),
    ("SKU-1016", "Phone stand", "19.90"),
    ("SKU-1017", "Backpack, 20 l", "95.00"),
    ("SKU-1018", "Water bottle, steel", "29.00"),
    ("SKU-1019", "Running socks (3)", "21.00"),
    ("SKU-1020", "Yoga mat", "42.00"),
    ("SKU-1021", "Plant pot, terracotta", "16.00"),
    ("SKU-1022", "Watering can", "34.00"),
    ("SKU-1023", "Board game", "38.00"),
    ("SKU-1024", "Jigsaw puzzle, 1000 pieces", "23.00"),
    ("SKU-1025", "Picture frame, A4", "26.50"),
]
# Products people tend to buy together, so that co-purchase recommendations have a pattern
# to find (most baskets come from one theme; some are mixed).
THEMES = [
    ["SKU-1001", "SKU-1002", "SKU-1003", "SKU-1004", "SKU-1005"],  # coffee and tea
    ["SKU-1007", "SKU-1008", "SKU-1009", "SKU-1010"],  # kitchen
    ["SKU-1006", "SKU-1011", "SKU-1021", "SKU-1022", "SKU-1025"],  # home
    ["SKU-1012", "SKU-1013", "SKU-1014", "SKU-1016"],  # desk
    ["SKU-1015", "SKU-1017", "SKU-1018", "SKU-1019", "SKU-1020"],  # on the move
    ["SKU-1023", "SKU-1024"],  # games
]
THEMED_BASKET_SHARE = 0.8
FIRST_NAMES = [
    "Amara",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grete",
    "Hiro",
    "Ines",
    "Jonas",
    "Kofi",
    "Lena",
    "Mateo",
    "Nadia",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Adams",
    "Berg",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Urban",
    "Virtanen",
    "Weber",
    "Yilmaz",
    "Zhang",
]
STREETS = ["Market Street", "Elm Road", "Harbour Lane", "King's Avenue", "Station Road", "Oak Way"]
CITIES = [
    ("Springfield", "62701"),
    ("Riverton", "84065"),
    ("Fairview", "37062"),
    ("Madison", "53703"),
    ("Georgetown", "78626"),
    ("Salem", "97301"),
    ("Franklin", "37064"),
    ("Clinton", "52732"),
]
CARRIERS = ["UPS", "DHL", "FedEx", "USPS"]
PAYMENT_METHODS = ["card", "paypal", "bank_transfer"]


PRODUCT_BY_SKU = {product[0]: product for product in PRODUCTS}
MEDIAN_PRICE = sorted(Decimal(price) for _, _, price in PRODUCTS)[len(PRODUCTS) // 2]
# Themed baskets come from the customer's favourite theme this often (the rest from any theme).
FAVOURITE_THEME_SHARE = 0.6

# --- the generative process ----------------------------------------------------------------

HISTORY_DAYS = 730  # two years of orders and conversations before REFERENCE_DAY
DAYS_PER_MONTH = 30.44
# Order-rate multiplier by calendar month: the gift season peaks, the new year dips.
MONTH_FACTORS = {
    1: 0.7,
    2: 0.7,
    3: 0.85,
    4: 0.9,
    5: 0.95,
    6: 0.9,
    7: 0.85,
    8: 0.9,
    9: 1.0,
    10: 1.1,
    11: 1.8,
    12: 1.8,
}
PEAK_FACTOR = max(MONTH_FACTORS.values())
# Gamma shape of a customer's rate around their persona's mean: coefficient of variation 0.7.
RATE_SHAPE = 2.0


@dataclass(frozen=True)
class Persona:
    """A latent kind of customer: how they buy and how they feel (never stored)."""

    name: str
    share: float
    orders_per_month: float  # mean of the per-customer (gamma-distributed) rate
    basket_sizes: tuple[int, int]  # distinct products per order, inclusive
    price_lean: float  # weight products by (price / median) ** lean: > 0 pricier, < 0 cheaper
    max_quantity: int
    mood: float  # mean of the customer's mood in [-1, 1]: sets conversation rate and tone
    signup_days_ago: tuple[int, int] | None  # None: from the dropout (churners)


PERSONAS: tuple[Persona, ...] = (
    Persona("loyal", 0.10, 1.5, (2, 4), 1.2, 3, 0.35, (100, 1095)),
    Persona("regular", 0.30, 0.6, (1, 3), 0.0, 2, 0.1, (100, 1095)),
    Persona("occasional", 0.30, 0.15, (1, 2), -1.2, 1, 0.0, (100, 1095)),
    Persona("new", 0.15, 0.9, (1, 3), 0.0, 2, 0.15, (0, 90)),
    Persona("churner", 0.15, 0.8, (1, 3), 0.0, 2, -0.4, None),
)
CHURN_DAYS_AGO = (120, 365)  # when a churner's last order was
CHURN_ACTIVE_DAYS = (150, 450)  # how long they had been a customer by then
CHURN_COMPLAINT_WINDOW_DAYS = (3, 56)  # complaints this long before their last order
REGULAR_COMPLAINT_SHARE = 0.25  # regulars with one complaint that is resolved

# Order status by age.
CANCELLED_SHARE = 0.04
RETURNED_SHARE = 0.04
DELIVERED_AFTER_DAYS = 20
PENDING_DAYS, PROCESSING_DAYS, SHIPPED_DAYS = 0.75, 2.5, 7.0
# Ages (days) at which an order added to cover a missing status is placed.
COVER_AGES = {
    OrderStatus.PENDING: (0.05, 0.7),
    OrderStatus.PROCESSING: (0.8, 2.4),
    OrderStatus.SHIPPED: (3.0, 6.5),
    OrderStatus.DELIVERED: (25.0, 60.0),
    OrderStatus.CANCELLED: (25.0, 60.0),
    OrderStatus.RETURNED: (25.0, 60.0),
}
REFUND_REASONS = ["Damaged on arrival", "Changed my mind", "Wrong size", "Wrong item sent"]
OTHER_REFUND_SHARE = 0.03  # delivered orders refunded without a complaint on record

# Conversations: a chance after each order, plus a Poisson rate of other questions; both rise
# with the customer's unhappiness (max(0, -mood)).
ORDER_QUESTION_CHANCE = 0.12
ACCOUNT_QUESTIONS_PER_MONTH = 0.06
UNHAPPY_RATE_BOOST = 2.0  # rates x (1 + boost * unhappiness)
RATED_CHANCE = {"finished": 0.47, "abandoned": 0.15}  # CSAT asked at the end, rarely given
COMMENT_CHANCE = 0.5
# A message's label from its score (the console's bands).
NEGATIVE_BELOW, POSITIVE_ABOVE = -0.25, 0.25

# Customers' mood about each topic (shifts message scores).
TOPIC_MOOD = {
    "track_order": -0.1,
    "delivery_period": -0.05,
    "get_invoice": 0.05,
    "check_invoice": 0.0,
    "change_shipping_address": 0.0,
    "change_order": 0.0,
    "cancel_order": -0.1,
    "check_cancellation_fee": -0.05,
    "get_refund": -0.2,
    "track_refund": -0.2,
    "review": 0.15,
    "check_payment_methods": 0.1,
    "recover_password": -0.1,
    "edit_account": 0.05,
    "newsletter_subscription": 0.2,
    "ask_recommendation": 0.35,
    "check_refund_policy": 0.0,
    "delivery_options": 0.1,
    "contact_customer_service": -0.05,
    "registration_problems": -0.2,
    "payment_issue": -0.35,
    "place_order": 0.25,
    "set_up_shipping_address": 0.05,
    "switch_account": 0.0,
    "delete_account": -0.15,
}
ORDER_TOPICS = {
    "track_order": 40,
    "delivery_period": 12,
    "get_invoice": 12,
    "check_invoice": 6,
    "change_shipping_address": 8,
    "change_order": 5,
    "cancel_order": 6,
    "check_cancellation_fee": 2,
    "review": 4,
}
ACCOUNT_TOPICS = {
    "check_payment_methods": 10,
    "recover_password": 10,
    "edit_account": 8,
    "newsletter_subscription": 5,
    "ask_recommendation": 12,
    "check_refund_policy": 8,
    "delivery_options": 10,
    "contact_customer_service": 6,
    "registration_problems": 4,
    "payment_issue": 5,
    "place_order": 8,
    "set_up_shipping_address": 5,
    "switch_account": 2,
    "delete_account": 1,
}
ORDER_RELATED = frozenset(ORDER_TOPICS) | {"get_refund", "track_refund", "complaint"}

# --- complaint themes and what customers write ---------------------------------------------

# Slots: {item} (a product of the order, lower case), {other_item}, {days}, {weeks}, {times},
# {minutes}, {carrier}, {amount}. No names, emails or phone numbers, ever.
COMPLAINT_TEXTS: dict[str, list[str]] = {
    "late_delivery": [
        "My {item} arrived {days} days later than promised.",
        "Still waiting on my parcel after {weeks} weeks, and the tracking hasn't moved.",
        "The delivery was late again, {days} days past the date you gave me.",
        "{carrier} tracking said out for delivery for {days} days straight. Nothing came.",
        "Ordered the {item} as a gift and it turned up a week late.",
        "Delivery took forever. {weeks} weeks for a {item} is ridiculous.",
        "The estimated delivery date keeps moving and nobody can tell me why.",
        "Package didn't arrive on time, the courier missed the slot twice.",
        "Shipping is far too slow, I could have bought the {item} locally in a day.",
        "Where is my order? It is {days} days late and the bot just repeats the tracking link.",
        "Late delivery once more. This is the third time this year.",
    ],
    "damaged_item": [
        "The {item} arrived broken, the box was completely crushed.",
        "My {item} came damaged, there's a crack right down the side.",
        "Parcel was soaking wet and the {item} inside was ruined.",
        "Received a damaged {item}. The packaging was a thin bag with no padding at all.",
        "The {item} was scratched and dented straight out of the box.",
        "Half of the order arrived smashed. Poor packaging.",
        "Item damaged in transit and now I have to wait again for a replacement.",
        "The lid of the {item} was broken when I opened it.",
        "Everything rattled in the box, the {item} was in pieces.",
        "Second time something arrived damaged. Please pack things properly.",
    ],
    "billing": [
        "I was charged twice for the same order, {amount} taken two times.",
        "Double charge on my card and nobody has fixed it yet.",
        "You billed me {amount} for a {item} that I cancelled.",
        "The invoice amount doesn't match what I paid at checkout.",
        "My card was charged before the order even shipped, and then charged again.",
        "Payment failed but the money still left my account.",
        "There's an extra charge of {amount} on my statement I don't recognise.",
        "Charged twice, refunded once, still out of pocket.",
        "The billing is a mess, different amounts on the invoice and the receipt.",
        "Why was I charged a fee for paying by bank transfer?",
    ],
    "refund_delay": [
        "Still waiting for my refund after {weeks} weeks.",
        "The refund was approved {days} days ago and I still haven't seen the money.",
        "Returned the {item} a month ago, no refund yet.",
        "Refund is taking far too long. Every time I ask I get a different date.",
        "I sent the {item} back and the refund status hasn't changed in {days} days.",
        "How long does a refund take? It's been {weeks} weeks.",
        "You were quick to take my money but the refund is painfully slow.",
        "Refund promised within five days, it's now day {days}.",
        "Still no money back for the return, and no update either.",
        "The refund keeps getting stuck at approved. Where is it?",
    ],
    "poor_support": [
        "The agent was rude and ended the chat on me.",
        "Support was useless, I explained the problem {times} times.",
        "Nobody actually helped, I just got copy-paste answers.",
        "The bot kept sending me in circles and never understood the question.",
        "Waited {minutes} minutes for a person and then got disconnected.",
        "Customer service was dismissive and didn't read my messages.",
        "Unhelpful support, they closed my ticket without fixing anything.",
        "I asked for a human and got the same canned reply {times} times.",
        "The chat didn't understand anything I typed. Waste of time.",
        "Very poor service, felt like nobody cared about my problem.",
    ],
    "website_app": [
        "The app keeps crashing at checkout.",
        "Couldn't log in to my account for days, the password reset emails never arrive.",
        "The website froze when I tried to pay and I don't know if the order went through.",
        "Checkout page throws an error every time I enter my address.",
        "The app logged me out {times} times while I was ordering.",
        "Your website is so slow the page timed out twice.",
        "The tracking page in the app shows nothing but a blank screen.",
        "Can't update my shipping address on the website, the save button does nothing.",
        "The password reset link is broken.",
        "The site kept emptying my basket before I could pay.",
    ],
    "wrong_item": [
        "I ordered a {item} and received a {other_item} instead.",
        "Wrong item in the box, not what I ordered at all.",
        "Got the wrong size and the wrong colour.",
        "The parcel had somebody else's order in it.",
        "Received a {other_item} instead of the {item}. Now I have to send it back.",
        "Wrong product delivered and the return label was missing.",
        "Half the order was missing and one item was wrong.",
        "You sent me the wrong {item}, the description said something else.",
        "Incorrect item again, this is the second mix-up.",
        "The {item} in the box wasn't the one on my order.",
    ],
}
COMPLAINT_THEMES = tuple(COMPLAINT_TEXTS)
PRAISE_TEXTS = [
    "Quick and helpful, my question about the {item} was answered in a minute.",
    "Great service, the refund was sorted straight away.",
    "Really easy, found my tracking info without any hassle.",
    "Friendly and fast. Thank you!",
    "The bot understood me first time, very impressed.",
    "Sorted my invoice in no time.",
    "Helpful answer and the {item} arrived a day early.",
    "Smooth experience, will order again.",
    "Got a human agent quickly and they fixed it.",
    "Clear answers, no waiting around.",
    "Changing my address was painless.",
    "Love the {item}, and support was spot on.",
    "Problem solved in {minutes} minutes, five stars.",
    "Very polite and efficient.",
    "Exactly what I needed, thanks.",
    "Easy to cancel, no questions asked.",
]
NEUTRAL_TEXTS = [
    "It was ok, took a while to get there.",
    "The answer was fine but I had to rephrase a couple of times.",
    "Got what I needed eventually.",
    "Fine, nothing special.",
    "Helpful enough, though the tracking info could be clearer.",
    "Average. The answer was a bit generic.",
    "Solved, but it took longer than I expected.",
    "Not bad, not great.",
]
COMPLAINT_OPENERS = ["", "", "", "Honestly, ", "To be honest, ", "Not impressed. ", "Again: "]
PRAISE_CLOSERS = ["", "", "", " Keep it up.", " Cheers.", " Great job.", " Will recommend."]
NEUTRAL_CLOSERS = ["", "", "", " Could be quicker.", " Thanks anyway.", " It'll do."]
COMPLAINT_CLOSERS = [
    "",
    "",
    "",
    " Very disappointed.",
    " Not ordering again.",
    " Please sort this out.",
    " Really frustrating.",
]
TICKET_SUBJECTS = {
    "late_delivery": ["Late delivery", "Delivery delayed", "Delivery problem"],
    "damaged_item": ["Item arrived damaged", "Damaged parcel", "Broken on arrival"],
    "billing": ["Billing problem", "Wrong amount charged", "Problem with a payment"],
    "refund_delay": ["Refund not received", "Refund taking too long", "Where is my refund"],
    "poor_support": ["Unhappy with support", "Complaint about support", "No help from support"],
    "website_app": ["Problem with the website", "Website or app error", "Account trouble"],
    "wrong_item": ["Wrong item received", "Incorrect order delivered", "Order mix-up"],
}
# What a conversation about each theme asks, first intent first.
THEME_INTENTS = {
    "late_delivery": ["complaint", "track_order", "delivery_period"],
    "damaged_item": ["complaint", "get_refund"],
    "billing": ["payment_issue", "check_invoice", "complaint"],
    "refund_delay": ["track_refund", "complaint"],
    "poor_support": ["complaint", "contact_customer_service"],
    "website_app": ["registration_problems", "recover_password", "complaint"],
    "wrong_item": ["complaint", "change_order", "get_refund"],
}
# The theme an unhappy rater writes about when the conversation was about this topic.
TOPIC_THEMES = {
    "track_order": "late_delivery",
    "delivery_period": "late_delivery",
    "delivery_options": "late_delivery",
    "get_invoice": "billing",
    "check_invoice": "billing",
    "payment_issue": "billing",
    "check_payment_methods": "billing",
    "check_cancellation_fee": "billing",
    "get_refund": "refund_delay",
    "track_refund": "refund_delay",
    "check_refund_policy": "refund_delay",
    "recover_password": "website_app",
    "registration_problems": "website_app",
    "edit_account": "website_app",
    "switch_account": "website_app",
    "set_up_shipping_address": "website_app",
    "change_shipping_address": "website_app",
    "change_order": "wrong_item",
}


@dataclass(frozen=True)
class SeedSummary:
    """What a seed run created (all zero when the demo data was already there)."""

    created: bool
    customers: int
    orders: int
    invoices: int
    refunds: int
    tickets: int
    interactions: int = 0


@dataclass(frozen=True)
class _PlannedOrder:
    at: datetime
    status: OrderStatus


@dataclass
class _CustomerPlan:
    """One synthetic customer before it is written: the latent truth the data is drawn from."""

    index: int
    persona: Persona
    signup: datetime
    mood: float
    favourite_theme: int
    grievance: str  # what they complain about, if they do
    orders: list[_PlannedOrder] = field(default_factory=list)

    @property
    def unhappiness(self) -> float:
        return max(0.0, -self.mood)

    @property
    def churns(self) -> bool:
        return self.persona.signup_days_ago is None


@dataclass(frozen=True)
class _Talk:
    """A conversation to write: when, why, and about which order."""

    at: datetime
    kind: str  # "routine", "complaint" (not put right) or "resolved_complaint"
    topic: str  # the main intent
    theme: str | None  # the complaint theme
    order: Order | None


def _clamp(value: float, low: float = -1.0, high: float = 1.0) -> float:
    return min(high, max(low, value))


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _short_name(product_name: str) -> str:
    """'French press, 1 l' -> 'french press', as a customer would write it."""
    return product_name.split(",")[0].split(" (")[0].lower()


def _arrival_times(
    rng: random.Random, start: datetime, end: datetime, per_day: float, *, seasonal: bool
) -> list[datetime]:
    """A Poisson process on [start, end); seasonal by thinning: candidates at the peak rate,
    each kept with probability MONTH_FACTORS[month] / PEAK_FACTOR."""
    if per_day <= 0 or end <= start:
        return []
    peak = per_day * (PEAK_FACTOR if seasonal else 1.0)
    times: list[datetime] = []
    moment = start
    while True:
        moment += timedelta(days=rng.expovariate(peak))
        if moment >= end:
            return times
        if not seasonal or rng.random() < MONTH_FACTORS[moment.month] / PEAK_FACTOR:
            times.append(moment)


def _status_for_age(rng: random.Random, age_days: float) -> OrderStatus:
    # Cancelling takes the customer a few hours at least.
    if age_days > 0.25 and rng.random() < CANCELLED_SHARE:
        return OrderStatus.CANCELLED
    if age_days < PENDING_DAYS:
        return OrderStatus.PENDING
    if age_days < PROCESSING_DAYS:
        return OrderStatus.PROCESSING
    if age_days < SHIPPED_DAYS:
        return OrderStatus.SHIPPED
    if age_days < DELIVERED_AFTER_DAYS:
        # Some carriers are slow: a few orders are still on their way after a week.
        return OrderStatus.DELIVERED if rng.random() < 0.75 else OrderStatus.SHIPPED
    if rng.random() < RETURNED_SHARE / (1 - CANCELLED_SHARE):
        return OrderStatus.RETURNED
    return OrderStatus.DELIVERED


def _persona_deck(rng: random.Random, count: int) -> list[Persona]:
    """`count` personas in PERSONAS' shares (largest remainder, so a small seed keeps them),
    shuffled."""
    quotas = [persona.share * count for persona in PERSONAS]
    counts = [int(quota) for quota in quotas]
    by_remainder = sorted(range(len(PERSONAS)), key=lambda i: quotas[i] - counts[i], reverse=True)
    for i in by_remainder[: count - sum(counts)]:
        counts[i] += 1
    deck = [persona for persona, n in zip(PERSONAS, counts, strict=True) for _ in range(n)]
    rng.shuffle(deck)
    return deck


def _plan_customer(rng: random.Random, index: int, persona: Persona) -> _CustomerPlan:
    window_start = REFERENCE_DAY - timedelta(days=HISTORY_DAYS)
    mood = _clamp(rng.gauss(persona.mood, 0.3))
    per_day = rng.gammavariate(RATE_SHAPE, persona.orders_per_month / RATE_SHAPE) / DAYS_PER_MONTH
    last_order: datetime | None = None
    if persona.signup_days_ago is None:  # a churner: active, then gone
        last_order = REFERENCE_DAY - timedelta(days=rng.uniform(*CHURN_DAYS_AGO))
        signup = last_order - timedelta(days=rng.uniform(*CHURN_ACTIVE_DAYS))
    else:
        signup = REFERENCE_DAY - timedelta(days=rng.uniform(*persona.signup_days_ago))
    times: list[datetime] = []
    if signup >= window_start:  # people sign up when they first buy
        times.append(signup + timedelta(minutes=rng.uniform(5, 180)))
    end = last_order or REFERENCE_DAY
    times += _arrival_times(rng, max(signup, window_start), end, per_day, seasonal=True)
    if last_order is not None:
        times.append(last_order)
    plan = _CustomerPlan(
        index=index,
        persona=persona,
        signup=signup,
        mood=mood,
        favourite_theme=rng.randrange(len(THEMES)),
        grievance=rng.choice(COMPLAINT_THEMES),
    )
    for moment in sorted(t for t in times if t < REFERENCE_DAY):
        age = (REFERENCE_DAY - moment).total_seconds() / 86400
        plan.orders.append(_PlannedOrder(moment, _status_for_age(rng, age)))
    return plan


def _cover_every_status(rng: random.Random, plans: list[_CustomerPlan]) -> None:
    """Make sure every order status occurs (tests and demos of a small seed rely on it): an
    old delivery turns into a cancellation or a return, or an active customer gets one more
    order of the right age."""
    if not plans:
        return
    present = {order.status for plan in plans for order in plan.orders}
    for status in OrderStatus:
        if status in present:
            continue
        if status in (OrderStatus.CANCELLED, OrderStatus.RETURNED):
            old = [
                (plan, i)
                for plan in plans
                for i, order in enumerate(plan.orders)
                if order.status is OrderStatus.DELIVERED
                and REFERENCE_DAY - order.at > timedelta(days=DELIVERED_AFTER_DAYS)
            ]
            if old:
                plan, i = rng.choice(old)
                plan.orders[i] = replace(plan.orders[i], status=status)
                continue
        at = REFERENCE_DAY - timedelta(days=rng.uniform(*COVER_AGES[status]))
        active = [p for p in plans if not p.churns and p.signup < at]
        plan = rng.choice(active or plans)
        plan.orders.append(_PlannedOrder(at, status))
        plan.orders.sort(key=lambda order: order.at)


def _latest_before(orders: Sequence[Order], moment: datetime) -> Order | None:
    earlier = [order for order in orders if order.placed_at <= moment]
    return earlier[-1] if earlier else None


class _Seeder:
    def __init__(self, session: Session, rng: random.Random) -> None:
        self.session = session
        self.rng = rng
        self.counts = {
            "customers": 0,
            "orders": 0,
            "invoices": 0,
            "refunds": 0,
            "tickets": 0,
            "interactions": 0,
        }
        self.order_number, self.invoice_number, self.refund_number = 100100, 500100, 700100
        self.refunded: set[int] = set()  # order numbers with a refund
        self.handoffs: list[tuple[Interaction, Ticket]] = []  # linked once tickets have ids

    # --- the documented customers (the calls and their order are part of what they are) ---

    def customer(self, name: str, email: str, address: str) -> Customer:
        customer = Customer(
            name=name,
            email=email,
            phone=f"+1 555 {self.rng.randint(1000, 9999)}",
            shipping_address=address,
            created_at=REFERENCE_DAY - timedelta(days=self.rng.randint(60, 900)),
        )
        self.session.add(customer)
        self.counts["customers"] += 1
        return customer

    def order(
        self,
        customer: Customer,
        number: int,
        status: OrderStatus,
        *,
        days_ago: int,
        carrier: str | None = None,
        tracking_number: str | None = None,
    ) -> Order:
        products = self._basket()
        items = [
            OrderItem(
                sku=sku,
                product_name=name,
                quantity=self.rng.randint(1, 2),
                unit_price=Decimal(price),
            )
            for sku, name, price in products
        ]
        placed_at = REFERENCE_DAY - timedelta(days=days_ago, hours=self.rng.randint(0, 23))
        shipped = status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.RETURNED)
        if shipped and carrier is None:
            carrier = self.rng.choice(CARRIERS)
            tracking_number = f"{carrier[:2].upper()}{self.rng.randint(10**9, 10**10 - 1)}"
        eta = None
        if status in (OrderStatus.PROCESSING, OrderStatus.SHIPPED):
            eta = (REFERENCE_DAY + timedelta(days=self.rng.randint(1, 5))).date()
        order = Order(
            number=number,
            customer=customer,
            status=status,
            placed_at=placed_at,
            carrier=carrier if shipped else None,
            tracking_number=tracking_number if shipped else None,
            eta=eta,
            shipping_address=customer.shipping_address,
            total=sum((i.unit_price * i.quantity for i in items), Decimal(0)).quantize(CENT),
            currency="USD",
            items=items,
        )
        if status is OrderStatus.CANCELLED:
            order.cancelled_at = placed_at + timedelta(hours=5)
            order.cancellation_reason = "Cancelled by the customer"
        self.session.add(order)
        self.counts["orders"] += 1
        return order

    def _basket(self) -> list[tuple[str, str, str]]:
        size = self.rng.randint(1, 3)
        if self.rng.random() >= THEMED_BASKET_SHARE:
            return self.rng.sample(PRODUCTS, k=size)
        theme = self.rng.choice(THEMES)
        return [PRODUCT_BY_SKU[sku] for sku in self.rng.sample(theme, k=min(size, len(theme)))]

    def invoice(self, order: Order, number: int, status: InvoiceStatus) -> Invoice:
        invoice = Invoice(
            number=f"INV-{number}",
            order=order,
            customer_id=order.customer.id,
            issued_at=order.placed_at + timedelta(hours=1),
            due_date=(order.placed_at + timedelta(days=14)).date(),
            amount=order.total,
            currency=order.currency,
            status=status,
        )
        if status is InvoiceStatus.PAID:
            invoice.payments.append(
                Payment(
                    amount=order.total,
                    method=self.rng.choice(PAYMENT_METHODS),
                    paid_at=order.placed_at + timedelta(hours=2),
                    status=PaymentStatus.SUCCEEDED,
                )
            )
        elif status is InvoiceStatus.OVERDUE:
            invoice.payments.append(
                Payment(
                    amount=order.total,
                    method="card",
                    paid_at=order.placed_at + timedelta(hours=2),
                    status=PaymentStatus.FAILED,
                )
            )
        self.session.add(invoice)
        self.counts["invoices"] += 1
        return invoice

    def refund(self, order: Order, number: int, status: RefundStatus) -> Refund:
        item = order.items[0]
        requested_at = order.placed_at + timedelta(days=self.rng.randint(5, 20))
        refund = Refund(
            number=f"RF-{number}",
            order=order,
            customer_id=order.customer.id,
            amount=(item.unit_price * item.quantity).quantize(CENT),
            status=status,
            requested_at=requested_at,
            updated_at=requested_at + timedelta(days=2),
            reason=self.rng.choice(["Damaged on arrival", "Changed my mind", "Wrong size"]),
        )
        self.session.add(refund)
        self.counts["refunds"] += 1
        return refund

    def address(self) -> str:
        city, postcode = self.rng.choice(CITIES)
        return f"{self.rng.randint(1, 250)} {self.rng.choice(STREETS)}, {city} {postcode}"

    # --- the synthetic customer base -------------------------------------------------------

    def history_customer(self, plan: _CustomerPlan) -> Customer:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        customer = Customer(
            name=f"{first} {last}",
            email=f"{first.lower()}.{last.lower()}.{plan.index}@example.net",
            phone=f"+1 555 {self.rng.randint(1000, 9999)}",
            shipping_address=self.address(),
            created_at=plan.signup,
        )
        self.session.add(customer)
        self.counts["customers"] += 1
        return customer

    def history_order(
        self, customer: Customer, plan: _CustomerPlan, planned: _PlannedOrder
    ) -> Order:
        rng, status, placed_at = self.rng, planned.status, planned.at
        items = [
            OrderItem(
                sku=sku,
                product_name=name,
                quantity=rng.randint(1, plan.persona.max_quantity),
                unit_price=Decimal(price),
            )
            for sku, name, price in self._history_basket(plan)
        ]
        shipped = status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.RETURNED)
        carrier = rng.choice(CARRIERS) if shipped else None
        tracking_number = (
            f"{carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}" if carrier else None
        )
        eta = None
        if status in (OrderStatus.PROCESSING, OrderStatus.SHIPPED):
            eta = max(
                (placed_at + timedelta(days=rng.randint(4, 8))).date(),
                (REFERENCE_DAY + timedelta(days=1)).date(),
            )
        order = Order(
            number=self.order_number,
            customer=customer,
            status=status,
            placed_at=placed_at,
            carrier=carrier,
            tracking_number=tracking_number,
            eta=eta,
            shipping_address=customer.shipping_address,
            total=sum((i.unit_price * i.quantity for i in items), Decimal(0)).quantize(CENT),
            currency="USD",
            items=items,
        )
        self.order_number += 1
        if status is OrderStatus.CANCELLED:
            order.cancelled_at = min(placed_at + timedelta(hours=rng.uniform(1, 20)), REFERENCE_DAY)
            order.cancellation_reason = rng.choice(
                [
                    "Cancelled by the customer",
                    "Ordered by mistake",
                    "Found it cheaper elsewhere",
                    "Delivery would take too long",
                ]
            )
        self.session.add(order)
        self.counts["orders"] += 1
        if status is not OrderStatus.PENDING:
            self.invoice(order, self.invoice_number, _invoice_status_for(order, rng))
            self.invoice_number += 1
        if status is OrderStatus.RETURNED:
            requested = placed_at + timedelta(days=rng.uniform(5, 20))
            reason = rng.choice(REFUND_REASONS)
            self.history_refund(order, requested, reason)
        elif status is OrderStatus.DELIVERED and rng.random() < OTHER_REFUND_SHARE:
            requested = placed_at + timedelta(days=rng.uniform(3, 15))
            self.history_refund(order, requested, rng.choice(REFUND_REASONS))
        return order

    def _history_basket(self, plan: _CustomerPlan) -> list[tuple[str, str, str]]:
        rng = self.rng
        low, high = plan.persona.basket_sizes
        size = rng.randint(low, high)
        if rng.random() >= THEMED_BASKET_SHARE:
            pool = list(PRODUCTS)
        else:
            favourite = rng.random() < FAVOURITE_THEME_SHARE
            theme = THEMES[plan.favourite_theme] if favourite else rng.choice(THEMES)
            pool = [PRODUCT_BY_SKU[sku] for sku in theme]
        # Weighted sampling without replacement: price level by persona.
        basket: list[tuple[str, str, str]] = []
        for _ in range(min(size, len(pool))):
            weights = [
                float(Decimal(price) / MEDIAN_PRICE) ** plan.persona.price_lean
                for _, _, price in pool
            ]
            basket.append(pool.pop(rng.choices(range(len(pool)), weights=weights)[0]))
        return basket

    def history_refund(self, order: Order, requested_at: datetime, reason: str) -> None:
        if order.number in self.refunded:
            return
        self.refunded.add(order.number)
        rng = self.rng
        requested_at = min(requested_at, REFERENCE_DAY - timedelta(hours=1))
        age = (REFERENCE_DAY - requested_at).days
        if age < 3:
            status, updated_at = RefundStatus.REQUESTED, requested_at
        else:
            if age < 10:
                status = RefundStatus.APPROVED
            else:
                status = RefundStatus.PAID if rng.random() < 0.85 else RefundStatus.REJECTED
            updated_at = min(requested_at + timedelta(days=rng.uniform(1, 6)), REFERENCE_DAY)
        item = order.items[0]
        amount = order.total if order.status is OrderStatus.RETURNED else item.unit_price
        self.session.add(
            Refund(
                number=f"RF-{self.refund_number}",
                order=order,
                customer_id=order.customer.id,
                amount=amount.quantize(CENT),
                status=status,
                requested_at=requested_at,
                updated_at=updated_at,
                reason=reason,
            )
        )
        self.refund_number += 1
        self.counts["refunds"] += 1

    # --- support history -----------------------------------------------------------------

    def support_history(self, customer: Customer, plan: _CustomerPlan, orders: list[Order]) -> None:
        talks = sorted(self._talks(plan, orders), key=lambda talk: talk.at)
        for n, talk in enumerate(talks):
            self.conversation(customer, plan, talk, f"seed-{plan.index}-{n}")

    def _talks(self, plan: _CustomerPlan, orders: list[Order]) -> list[_Talk]:
        rng = self.rng
        boost = 1 + UNHAPPY_RATE_BOOST * plan.unhappiness
        latest = REFERENCE_DAY - timedelta(hours=1)
        talks: list[_Talk] = []
        for order in orders:
            if order.status is OrderStatus.RETURNED and rng.random() < 0.6:
                topic = rng.choice(["get_refund", "track_refund"])
                at = order.placed_at + timedelta(days=rng.uniform(8, 25))
            elif order.status is OrderStatus.CANCELLED and rng.random() < 0.4:
                topic, at = "cancel_order", order.placed_at + timedelta(hours=rng.uniform(0.2, 4))
            elif rng.random() < ORDER_QUESTION_CHANCE * boost:
                topic = _weighted(rng, ORDER_TOPICS)
                at = order.placed_at + timedelta(days=rng.uniform(0.1, 8))
            else:
                continue
            if at < latest:
                talks.append(_Talk(at, "routine", topic, None, order))

        window_start = REFERENCE_DAY - timedelta(days=HISTORY_DAYS)
        start = max(plan.signup, window_start)
        last_order = orders[-1].placed_at if orders else None
        # A churner is gone a few weeks after their last order.
        end = last_order + timedelta(days=30) if plan.churns and last_order else latest
        per_day = ACCOUNT_QUESTIONS_PER_MONTH * boost / DAYS_PER_MONTH
        for at in _arrival_times(rng, start, min(end, latest), per_day, seasonal=False):
            topic = _weighted(rng, ACCOUNT_TOPICS)
            talks.append(_Talk(at, "routine", topic, None, _latest_before(orders, at)))

        theme = plan.grievance
        if plan.churns and last_order is not None:
            for _ in range(rng.choices([1, 2, 3], weights=[40, 40, 20])[0]):
                at = last_order - timedelta(days=rng.uniform(*CHURN_COMPLAINT_WINDOW_DAYS))
                if at > plan.signup:
                    about = _latest_before(orders, at)
                    talks.append(_Talk(at, "complaint", THEME_INTENTS[theme][0], theme, about))
        elif orders and start + timedelta(days=30) < latest - timedelta(days=10):
            # A regular's one-off complaint is put right; other unhappy customers complain too,
            # now and then, without leaving (so a complaint alone does not give churn away).
            if plan.persona.name == "regular" and rng.random() < REGULAR_COMPLAINT_SHARE:
                kind = "resolved_complaint"
            elif plan.mood < -0.3 and rng.random() < 0.3:
                kind = "complaint"
            else:
                return talks
            span = (latest - timedelta(days=10) - start - timedelta(days=30)).total_seconds()
            at = start + timedelta(days=30, seconds=rng.uniform(0, span))
            about = _latest_before(orders, at)
            talks.append(_Talk(at, kind, THEME_INTENTS[theme][0], theme, about))
        return talks

    def conversation(
        self, customer: Customer, plan: _CustomerPlan, talk: _Talk, sender_id: str
    ) -> None:
        rng = self.rng
        complaint = talk.kind != "routine"
        intents = ["greet"] if rng.random() < 0.55 else []
        if talk.theme is not None:
            first, *rest = THEME_INTENTS[talk.theme]
            asked = [first, *(intent for intent in rest if rng.random() < 0.5)]
        else:
            asked = [talk.topic]
            if rng.random() < 0.15:  # and one more question while they are here
                asked.append(_weighted(rng, ACCOUNT_TOPICS))
        for intent in asked:
            intents.append(intent)
            if intent in ORDER_RELATED and rng.random() < 0.5:
                intents.append("inform")  # the order number
        fallback_chance = 0.06 + 0.1 * plan.unhappiness + (0.08 if complaint else 0.0)
        fallbacks = sum(rng.random() < fallback_chance for _ in range(3))
        for _ in range(fallbacks):
            intents.insert(rng.randint(1, len(intents)), "nlu_fallback")

        if talk.kind == "routine":
            handoff_chance = 0.03 + 0.1 * fallbacks + 0.1 * plan.unhappiness
            finish_chance = 0.78 - 0.1 * fallbacks
        elif talk.kind == "complaint":
            handoff_chance = 0.35 + 0.1 * fallbacks + (0.3 if talk.theme == "poor_support" else 0)
            finish_chance = 0.4
        else:
            handoff_chance, finish_chance = 0.15, 1.0
        handoff = rng.random() < handoff_chance
        before_handoff = list(intents)
        outcome: str | None
        if handoff:
            intents.append("contact_human_agent")
            outcome = "handoff"
        else:
            outcome = "resolved" if rng.random() < finish_chance else None
        if outcome == "resolved":
            if rng.random() < 0.6:
                intents.append(rng.choice(["thank", "affirm"]))
            intents.append("goodbye")
        elif outcome is None and rng.random() < 0.3:
            intents.append("deny")

        scores = self._scores(plan, talk, intents, outcome)
        moments: list[datetime] = []
        moment = talk.at
        for _ in intents:
            moment += timedelta(seconds=rng.uniform(8, 70))
            moments.append(moment)
        messages = [
            {
                "at": at.isoformat(),
                "intent": intent,
                "label": _label(score),
                "score": score,
            }
            for at, intent, score in zip(moments, intents, scores, strict=True)
        ]
        ended_at = None
        if outcome == "resolved":
            ended_at = moments[-1] + timedelta(seconds=rng.uniform(5, 120))
        elif outcome == "handoff":  # the person who took over closes it
            ended_at = moments[-1] + timedelta(seconds=rng.uniform(120, 1800))
        average = round(sum(scores) / len(scores), 4)
        interaction = Interaction(
            sender_id=sender_id,
            customer_id=customer.id,
            started_at=talk.at,
            ended_at=ended_at,
            intents=intents,
            outcome=outcome,
            handoff=handoff,
            message_sentiments=messages,
            sentiment_average=average,
            sentiment_trend=sentiment_trend(scores),
            fallback_count=fallbacks,
        )
        interaction.satisfaction_estimate = satisfaction_estimate(interaction)
        rated_chance = RATED_CHANCE["finished" if outcome else "abandoned"]
        if rng.random() < rated_chance:
            # The customer's own rating: driven by the same signals as the estimate, but
            # weighted otherwise, plus who they are and noise.
            latent = (
                3.1
                + 1.6 * average
                + (0.4 if outcome == "resolved" else 0.0)
                - (0.6 if handoff else 0.0)
                - 0.3 * min(fallbacks, 3)
                + 0.5 * plan.mood
                - (0.3 if complaint else 0.0)
                + rng.gauss(0, 0.65)
            )
            rating = int(_clamp(round(latent), 1, 5))
            interaction.csat_rating = rating
            interaction.csat_at = (ended_at or moments[-1]) + timedelta(seconds=rng.uniform(10, 90))
            if rng.random() < COMMENT_CHANCE:
                interaction.csat_comment = self._comment(
                    rating, talk, handoff=handoff, fallbacks=fallbacks
                )
        self.session.add(interaction)
        self.counts["interactions"] += 1

        if handoff:
            ticket = self._ticket(
                customer,
                TicketKind.HANDOFF,
                "Customer asked for a human agent",
                f"Transcript: conversation {sender_id}. "
                f"Intents so far: {', '.join(before_handoff) or 'none'}.",
                at=moments[len(before_handoff)],
                sender_id=sender_id,
                priority="high",
            )
            self.handoffs.append((interaction, ticket))
        if talk.theme is not None and rng.random() < (0.85 if talk.kind == "complaint" else 0.5):
            description = self._complaint_text(talk.theme, talk.order)
            if talk.order is not None and rng.random() < 0.5:
                description = f"Order {talk.order.number}: {description}"
            self._ticket(
                customer,
                TicketKind.PAYMENT_ISSUE if talk.theme == "billing" else TicketKind.COMPLAINT,
                rng.choice(TICKET_SUBJECTS[talk.theme]),
                description,
                at=moments[0],
                sender_id=sender_id,
                priority="high" if plan.churns else rng.choice(["normal", "high"]),
            )
        elif not complaint and outcome is None and fallbacks and rng.random() < 0.25:
            self._ticket(
                customer,
                TicketKind.GENERAL,
                rng.choice(["Question about an order", "Question about my account"]),
                rng.choice(
                    [
                        "The assistant could not answer my question.",
                        "Please call me back about this.",
                        "I need someone to look at this.",
                    ]
                ),
                at=moments[-1],
                sender_id=sender_id,
                priority="low",
            )
        order = talk.order
        if (
            talk.theme in ("damaged_item", "wrong_item")
            and order is not None
            and order.status is OrderStatus.DELIVERED
        ):
            reason = "Damaged on arrival" if talk.theme == "damaged_item" else "Wrong item sent"
            self.history_refund(order, talk.at + timedelta(hours=1), reason)

    def _scores(
        self, plan: _CustomerPlan, talk: _Talk, intents: list[str], outcome: str | None
    ) -> list[float]:
        """Per-message sentiment: a path from how the customer starts to how they end."""
        shift = 0.35 * plan.mood
        if talk.kind == "routine":
            start = TOPIC_MOOD.get(talk.topic, 0.0) + shift
            end = start + {"resolved": 0.25, "handoff": -0.25}.get(outcome or "", -0.15)
        elif talk.kind == "complaint":
            start = -0.5 + shift / 2
            end = start + (0.15 if outcome == "resolved" else -0.2)
        else:
            start, end = -0.45 + shift / 2, 0.3 + shift / 2
        scores = []
        last = max(1, len(intents) - 1)
        for i, intent in enumerate(intents):
            mean = start + (end - start) * i / last
            if intent == "nlu_fallback":
                mean -= 0.2
            elif intent in ("greet", "affirm", "inform"):
                mean /= 2  # small talk is mostly neutral
            elif intent in ("thank", "goodbye"):
                mean += 0.25
            scores.append(round(_clamp(self.rng.gauss(mean, 0.22)), 4))
        return scores

    def _ticket(
        self,
        customer: Customer,
        kind: TicketKind,
        subject: str,
        description: str,
        *,
        at: datetime,
        sender_id: str,
        priority: str,
    ) -> Ticket:
        age = REFERENCE_DAY - at
        if age < timedelta(days=7):
            status = TicketStatus.OPEN
        elif age < timedelta(days=21):
            status = TicketStatus.PENDING
        else:
            status = TicketStatus.CLOSED
        ticket = Ticket(
            customer=customer,
            kind=kind,
            subject=subject,
            description=description,
            status=status,
            priority=priority,
            sender_id=sender_id,
            created_at=at,
        )
        self.session.add(ticket)
        self.counts["tickets"] += 1
        return ticket

    def _comment(self, rating: int, talk: _Talk, *, handoff: bool, fallbacks: int) -> str:
        rng = self.rng
        if rating >= 4:
            text = self._fill(rng.choice(PRAISE_TEXTS), talk.order, praise=True)
            return text + rng.choice(PRAISE_CLOSERS)
        if rating == 3 and (talk.theme is None or rng.random() < 0.5):
            text = self._fill(rng.choice(NEUTRAL_TEXTS), talk.order, praise=False)
            return text + rng.choice(NEUTRAL_CLOSERS)
        theme = talk.theme or TOPIC_THEMES.get(talk.topic)
        if (handoff or fallbacks >= 2) and (theme is None or rng.random() < 0.5):
            theme = "poor_support"
        return self._complaint_text(theme or rng.choice(COMPLAINT_THEMES), talk.order)

    def _complaint_text(self, theme: str, order: Order | None) -> str:
        rng = self.rng
        text = self._fill(rng.choice(COMPLAINT_TEXTS[theme]), order, praise=False)
        opener, closer = rng.choice(COMPLAINT_OPENERS), rng.choice(COMPLAINT_CLOSERS)
        # After "Honestly, " the sentence goes on in lower case ("I" and carriers aside).
        if opener.endswith(", ") and not text.startswith(("I ", "I'", *CARRIERS)):
            text = text[0].lower() + text[1:]
        return f"{opener}{text}{closer}"

    def _fill(self, template: str, order: Order | None, *, praise: bool) -> str:
        rng = self.rng
        names = [item.product_name for item in order.items] if order is not None else []
        item = rng.choice(names) if names else rng.choice(PRODUCTS)[1]
        other = rng.choice([name for _, name, _ in PRODUCTS if name != item])
        amount = order.total if order is not None else Decimal(rng.choice(PRODUCTS)[2])
        slots: dict[str, Any] = {
            "item": _short_name(item),
            "other_item": _short_name(other),
            "days": rng.randint(3, 16),
            "weeks": rng.choice(["two", "three", "four", "five"]),
            "times": rng.choice(["two", "three", "four", "five"]),
            "minutes": rng.randint(2, 9) if praise else rng.randint(15, 55),
            "carrier": rng.choice(CARRIERS),
            "amount": f"${amount}",
        }
        return template.format(**slots)


def _label(score: float) -> str:
    if score < NEGATIVE_BELOW:
        return "negative"
    return "positive" if score > POSITIVE_ABOVE else "neutral"


def _invoice_status_for(order: Order, rng: random.Random) -> InvoiceStatus:
    if order.status is OrderStatus.CANCELLED:
        return InvoiceStatus.VOID
    if order.status is OrderStatus.PROCESSING:
        return rng.choice([InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.OVERDUE])
    return InvoiceStatus.PAID


def seed_demo_data(
    session: Session, *, customers: int = 300, random_seed: int = 7, support_history: bool = True
) -> SeedSummary:
    """Fill an empty CRM with demo data; a CRM that already has it is left alone.

    Without `support_history` the customers and their orders are the same, but nobody has
    written to support yet (for tests that count conversations and tickets themselves)."""
    if customers < 0:
        raise ValueError("customers must not be negative")
    if session.scalar(select(func.count(Customer.id)).where(Customer.email == "ada@example.com")):
        return SeedSummary(False, 0, 0, 0, 0, 0)
    rng = random.Random(random_seed)
    seed = _Seeder(session, rng)

    ada = seed.customer("Ada Lovelace", "ada@example.com", "12 St James's Square, London SW1Y 4JH")
    grace = seed.customer("Grace Hopper", "grace@example.com", "1 Navy Yard, Arlington VA 22202")
    session.flush()
    shipped = seed.order(
        ada,
        100001,
        OrderStatus.SHIPPED,
        days_ago=3,
        carrier="UPS",
        tracking_number="1Z999AA10123456784",
    )
    seed.invoice(shipped, 500001, InvoiceStatus.PAID)
    processing = seed.order(grace, 100002, OrderStatus.PROCESSING, days_ago=1)
    seed.invoice(processing, 500002, InvoiceStatus.OPEN)
    delivered = seed.order(ada, 100003, OrderStatus.DELIVERED, days_ago=30)
    seed.invoice(delivered, 500003, InvoiceStatus.PAID)
    seed.refund(delivered, 700001, RefundStatus.APPROVED)
    seed.order(ada, 100004, OrderStatus.PENDING, days_ago=0)
    seed.order(grace, 100005, OrderStatus.DELIVERED, days_ago=45)

    plans = [
        _plan_customer(rng, index, persona)
        for index, persona in enumerate(_persona_deck(rng, customers))
    ]
    _cover_every_status(rng, plans)
    written = [(plan, seed.history_customer(plan)) for plan in plans]
    session.flush()  # customer ids, for invoices and refunds
    for plan, customer in written:
        orders = [seed.history_order(customer, plan, planned) for planned in plan.orders]
        if support_history:
            seed.support_history(customer, plan, orders)
    session.flush()  # ticket ids, for the handed-over conversations
    for interaction, ticket in seed.handoffs:
        interaction.handoff_ticket_id = ticket.id
    session.flush()
    return SeedSummary(True, **seed.counts)
