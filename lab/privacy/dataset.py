"""The labelled PII set, data/privacy/pii_messages.jsonl, written from this file's sentences.

`python -m lab.privacy.dataset` rewrites it identically (fixed seed). Every value is invented
for this set: names, mailboxes, phone numbers (valid by libphonenumber's metadata, like a real
customer's), card numbers (Luhn-valid, and others one digit off), IBANs with correct check
digits, street addresses of several countries, and the shop's own references. Each line is
`{"text", "spans": [{"start", "end", "entity"}], "split"}`.

Dev and test share no sentence and no value: each kind of message has its own list of
sentences, and sentences and values alternate between the two splits, so the split is
stratified by kind and test phrasing is never a copy of dev's. Spans cover exactly the
inserted value: a whole address (with flat, city and postcode as written), a whole name.
Last come DEV_HAND_WRITTEN's messages, in dev alone: the error classes the held-out run
named, to tune on without looking at the held-out set again.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from supportbot.settings import PROJECT_ROOT

DATASET = PROJECT_ROOT / "data" / "privacy" / "pii_messages.jsonl"
SEED = 16
SPLITS = ("dev", "test")
# Sentences written once per value for the rarer, checksummed kinds, so each type has some
# twenty spans a split: each rendering draws new values.
RENDERINGS = {"phone": 2, "card": 2, "iban": 2, "address": 2}

# fmt: off
NAMES = [
    "Maria Garcia", "Wei Zhang", "Priya Patel", "Oluwaseun Adeyemi", "Siobhan O'Connor",
    "Jean-Luc Moreau", "Ahmed Hassan", "Emily Clarke", "Liam Murphy", "Sofia Rossi",
    "Hiroshi Tanaka", "Fatima Al-Sayed", "Tom Becker", "Anna Kowalska", "Lucas Silva",
    "Chloe Martin", "Daniel Okafor", "Hannah Schmidt", "Raj Malhotra", "Olivia Brown",
    "Mateo Fernandez", "Ingrid Larsen", "Kwame Mensah", "Yuki Sato", "Isabelle Dubois",
    "Connor Walsh", "Elena Petrova", "Samuel Cohen", "Grace Kim", "Mohammed Rahman",
    "Laura Jensen", "Pedro Alves", "Nina Berg", "James O'Neill", "Aisha Bello", "Marco Bianchi",
    "Sarah Thompson", "David Nguyen", "Zoe Williams", "Omar Farouk",
]
FIRST_NAMES = [
    "Mike", "Sandra", "Ravi", "Katie", "Tomasz", "Lena", "Jorge", "Bethany", "Ken", "Amara",
    "Paul", "Julia", "Sean", "Mei", "Felix", "Rosa", "Ivan", "Claire", "Dev", "Hugo",
]
EMAILS = [
    "maria.garcia84@gmail.com", "w.zhang@outlook.com", "priya_patel@yahoo.co.uk",
    "seun.adeyemi@protonmail.com", "jl.moreau@orange.fr", "ahmed.h+shop@gmail.com",
    "emily.clarke@btinternet.com", "liam.murphy@eircom.net", "sofia.rossi@libero.it",
    "tanaka.h@docomo.ne.jp", "anna.kowalska@wp.pl", "lucas.silva@uol.com.br",
    "chloe.martin@hotmail.fr", "k.becker@web.de", "billing@acme-widgets.com",
    "j.smith@company.co", "mike_t@icloud.com", "nina.berg@telia.se", "olga.ivanova@mail.ru",
    "dave.okafor@fastmail.fm", "r.malhotra1990@rediffmail.com", "hello@sarahbakes.shop",
    "grace.kim@uni.edu", "omar.f@live.com", "zoe_w@me.com", "pedro.alves@sapo.pt",
    "laura.j@jensen.dk", "c.walsh@gmail.com", "ingrid.larsen@online.no", "y.sato@gmail.com",
]
PHONES = [
    ("(415) 555-0132", "US"), ("+44 20 7946 0958", "GB"), ("415-555-0187", "US"),
    ("07911 123456", "GB"), ("+1 415 555 0199", "US"), ("+44 7911 123456", "GB"),
    ("415.555.0143", "US"), ("0161 496 0000", "GB"), ("+1-212-555-0147", "US"),
    ("+44 (0)161 496 0123", "GB"), ("212 555 0147", "US"), ("07400 123456", "GB"),
    ("(646) 555-0110", "US"), ("020 7946 0321", "GB"), ("1-800-555-0199", "US"),
    ("+49 30 12345678", "DE"), ("+1 (312) 555-0168", "US"), ("+49 (0)89 1234567", "DE"),
    ("3125550175", "US"), ("0151 23456789", "DE"), ("+33 1 42 68 53 00", "FR"),
    ("06 12 34 56 78", "FR"), ("+33 6 12 34 56 78", "FR"), ("+353 1 234 5678", "IE"),
    ("087 123 4567", "IE"), ("+61 2 9374 4000", "AU"), ("0412 345 678", "AU"),
    ("+91 98765 43210", "IN"), ("098765 43210", "IN"), ("+34 912 345 678", "ES"),
    ("612 345 678", "ES"), ("+39 06 1234 5678", "IT"), ("347 123 4567", "IT"),
    ("+31 20 123 4567", "NL"), ("06 12345678", "NL"), ("+81 3-1234-5678", "JP"),
    ("+55 11 91234-5678", "BR"), ("+27 21 123 4567", "ZA"), ("+41 44 668 18 00", "CH"),
    ("+48 22 123 45 67", "PL"), ("0044 20 7946 0958", "GB"), ("+1 604 555 0142", "CA"),
]
ADDRESSES = [
    "12 Main St, Springfield, IL 62704", "221B Baker Street, London NW1 6XE",
    "1600 Pennsylvania Avenue NW, Washington, DC 20500",
    "Flat 3, 45 Queen's Road, Brighton BN1 3XE",
    "350 West 57th Street, Apt 4B, New York, NY 10019", "10 Downing Street, London SW1A 2AA",
    "742 Evergreen Terrace", "7 Church Lane, Oxford OX1 4AA",
    "4059 Mt Lee Dr, Hollywood, CA 90068", "Flat 12, 3 Harbour Way, Bristol BS1 5TY",
    "2114 Bigelow Ave N, Seattle, WA 98109", "27 Old Gloucester Road, London WC1N 3AX",
    "500 Oak Lane, Austin, TX 78701", "14 Victoria Road, Leeds LS6 1AB", "19 Elm Street",
    "15 Grafton Street, Dublin 2", "1234 Sunset Blvd, Los Angeles, CA 90026",
    "42 Wallaby Way, Sydney NSW 2000", "301 Front St W, Toronto, ON M5V 2T6",
    "Apartment 5, 8 Kings Court, Edinburgh EH1 2AB", "Hauptstraße 5, 10115 Berlin",
    "Kastanienallee 12, 10435 Berlin", "50 rue de Rivoli, 75001 Paris",
    "Goethestr. 27, 80336 München", "Prinsengracht 263, 1016 GV Amsterdam",
    "12 avenue des Champs-Élysées, 75008 Paris", "88 Maple Avenue, Unit 2, Portland, OR 97205",
    "Suite 400, 1 Market Plaza, San Francisco, CA 94105", "9 Mill Road, Cambridge CB1 2AD",
    "63 Harbour Street, Galway", "14 elm street", "9 park road, york",
    "3 Acacia Gardens, Leicester LE2 1XX", "77 Beacon Hill, Boston, MA 02108",
]
IBAN_FORMATS = {
    # Country: (length, BBAN as (kind, count) groups: n digits, a upper letters, c alphanumeric)
    "DE": [("n", 18)],
    "GB": [("a", 4), ("n", 14)],
    "FR": [("n", 10), ("c", 11), ("n", 2)],
    "ES": [("n", 20)],
    "NL": [("a", 4), ("n", 10)],
    "IT": [("a", 1), ("n", 10), ("c", 12)],
    "IE": [("a", 4), ("n", 14)],
    "BE": [("n", 12)],
    "CH": [("n", 5), ("c", 12)],
    "PL": [("n", 24)],
    "AT": [("n", 16)],
    "PT": [("n", 21)],
}
PRODUCTS = [
    "Ceramic coffee mug", "French press", "Ground coffee", "Electric kettle", "Tea sampler box",
    "Wool throw blanket", "Linen napkins", "Cast-iron skillet", "Chef's knife",
    "Bamboo cutting board", "Scented candle", "Desk lamp", "Notebook", "Fountain pen",
    "Wireless earbuds", "Phone stand", "Backpack", "Water bottle", "Running socks", "Yoga mat",
    "Plant pot", "Watering can", "Board game", "Jigsaw puzzle", "Picture frame",
]
# fmt: on
CARRIERS = ["UPS", "DHL", "FedEx", "USPS"]
CITIES = ["Dublin", "Berlin", "Chicago", "Manchester", "Toronto", "Lyon", "Austin", "Madrid"]

# {slot}: PERSON {name} {first}, EMAIL_ADDRESS {email}, PHONE_NUMBER {phone}, CREDIT_CARD
# {card}, IBAN_CODE {iban}, STREET_ADDRESS {address}; unlabelled: {badcard} (not Luhn-valid),
# {order} {invoice} {refund} {ticket} {sku} {tracking} {amount} {date} {product} {carrier}
# {city} {last4}.
SENTENCES: dict[str, list[str]] = {
    "email": [
        "Hi, I changed my email, please use {email} from now on.",
        "can you send the invoice {invoice} to {email}",
        "My login is {email} but the password reset never arrives",
        "I didn't get a confirmation for order {order}. My address is {email}",
        "Please update the account email to {email}, the old one is closed",
        "email: {email}",
        "Is {email} the address you have on file? I never got the tracking link",
        "Send the receipt to {email} please, thanks",
        "I registered with {email} on {date} and can't see my orders",
        "The shipping notice went to {email} instead of my work address",
        "you can reach me at {email} about the refund {refund}",
        "Verify me with {email}, order {order}",
        "my email is {email} and my order number is {order}",
        "Could you unsubscribe {email} from the newsletter?",
        "I typed {email} at checkout, is that right?",
        "Contact {email} for anything about the {product} return.",
        "please cc {email} on ticket {ticket}",
        "I think my account is {email} or maybe the gmail one",
        "the invoice should say {email} not the old address",
        "Change of email: old one was closed, new is {email}. Order {order}.",
    ],
    "phone": [
        "Please call me on {phone} about order {order}.",
        "my number is {phone}",
        "The courier needs a phone number: {phone}",
        "Can someone ring me back at {phone}? It's about the broken {product}.",
        "You can text me at {phone} when it ships",
        "phone {phone}, order {order}, paid {amount}",
        "I'm abroad, best number is {phone}",
        "Call {phone} between 9 and 5 please",
        "My mobile changed to {phone}, can you update the delivery contact?",
        "Reach me on {phone} or by chat, either is fine",
        "The driver couldn't reach me because you have the wrong number, it's {phone}",
        "Tel: {phone}",
        "please phone me, {phone}, I can't type much right now",
        "Update my phone to {phone} for the {carrier} delivery",
        "Is {phone} the number on my account? The SMS never arrives",
        "I tried calling support from {phone} three times today",
        "WhatsApp me on {phone} if the parcel is delayed",
        "new contact number {phone}. thanks",
        "call back on {phone} about invoice {invoice}",
        "For the delivery on {date} the driver can call {phone}",
        "my landline is {phone} and mobile is {phone}",
        "Contact: {phone} (evenings only)",
    ],
    "card": [
        "I was charged twice on my card {card} for order {order}",
        "card number {card}, can you check why it was declined?",
        "Refund it to {card} please, not store credit",
        "My Visa {card} expires next month, can I change the payment for {order}?",
        "Charge the {amount} to {card}",
        "The payment with {card} failed on {date}",
        "Use card {card} for the replacement {product}",
        "there are two charges of {amount} on {card}",
        "pls refund {card} asap",
        "I paid with {card}, invoice {invoice} still shows open",
        "Can you remove the saved card {card} from my account?",
        "My mastercard {card} was billed but the order {order} was cancelled",
    ],
    "badcard": [
        "I think my card is {badcard} but the form says it's invalid",
        "is {badcard} a valid card? checkout keeps rejecting it",
        "The number {badcard} from the gift voucher doesn't work",
        "Typed {badcard} at checkout and got an error, what's wrong?",
        "Reference {badcard} was on my bank statement, what is it?",
        "my card ending in {last4} was declined",
        "Checkout rejected {badcard}, I must have mistyped a digit",
        "The voucher code {badcard} says expired",
    ],
    "iban": [
        "Please refund to my bank account, IBAN {iban}",
        "My IBAN is {iban}",
        "Can you send the refund {refund} to {iban}?",
        "iban: {iban} (account in my name)",
        "I'd rather get a bank transfer to {iban} than a card refund",
        "The refund for order {order} should go to IBAN {iban}",
        "Bank details for the return: {iban}",
        "transfer the {amount} to {iban} pls",
        "I paid by bank transfer from {iban} on {date}",
        "Use {iban} for the reimbursement of invoice {invoice}",
        "New IBAN {iban}, the old account is closed",
        "Our company account: {iban}",
    ],
    "address": [
        "Please ship order {order} to {address}",
        "I moved, my new address is {address}",
        "The parcel went to {address} but I don't live there anymore",
        "Delivery address: {address}",
        "Can you change the shipping address to {address}?",
        "send the replacement to {address} please",
        "My billing address is {address} and shipping is the same",
        "I live at {address}, the {carrier} driver says he couldn't find it",
        "Deliver to {address}, leave it with the neighbour if I'm out",
        "Return label should show {address}",
        "The invoice {invoice} has the wrong address, it should be {address}",
        "ship to {address}",
        "Address for the refund cheque: {address}",
        "it was delivered to {address} which is my old flat",
        "Please use {address} for all future orders",
        "new address {address}, order {order}",
        "We're at {address} now, please update it",
        "The {product} should go to {address}, it's a gift",
    ],
    "name": [
        "Hi, my name is {name} and my order {order} hasn't arrived",
        "This is {name}, I spoke to someone yesterday about a refund",
        "My name's {name}, I need help with invoice {invoice}",
        "The order is under the name {name}",
        "Hello, I'm {name}. Where is my {product}?",
        "Can you cancel order {order}? Thanks, {name}",
        "Name: {name}",
        "I ordered it for my mother, {name}, can it be gift wrapped?",
        "The parcel was signed for by {name}, but that's not me",
        "Please put the invoice in the name of {name}",
        "{name} here, my refund {refund} is still pending",
        "Order {order} was for {name}, she never got it",
        "Hi there, it's {name} again about ticket {ticket}",
        "My husband {name} placed the order on {date}",
        "Regards,\n{name}",
        "Hi {first}, thanks for your help earlier",
        "The package is addressed to {name}",
        "thanks for sorting it out!\n- {first}",
        "Can {name} pick it up for me?",
        "I'm writing on behalf of {name}, who can't use the chat",
        "Kind regards, {name}",
        "My name is {first} and I'd like to return the {product}",
        "Is this where I talk to {first}? She helped me last week",
        "account holder is {name}",
        "Cheers, {first}",
        "The account is in my wife's name, {name}",
        "Attn: {name}, accounts payable",
        "Thanks {first}!",
        "{name} (order {order})",
        "hi it's {first}, the {product} came broken",
    ],
    "mixed": [
        "Hi, I'm {name}, email {email}, order {order} never arrived at {address}",
        "Name {name}, phone {phone}, please call about the refund",
        "Refund {amount} to {iban}, account holder {name}",
        "Card {card} was charged for order {order}; my email is {email}",
        "Ship to {address} and call {phone} on arrival",
        "My name is {name}, I live at {address} and my number is {phone}",
        "{email} / {phone} - either works",
        "Regards, {name} ({email})",
        "Please refund {card}, and send the receipt to {email}",
        "Contact {name} at {phone} for the delivery to {address}",
        "I'm {name}; IBAN {iban}; refund for invoice {invoice}",
        "Order {order} for {name}, {address}, tel {phone}",
        "Thanks, {first}\n{phone}",
        "My email is {email}, and my card {card} was declined on {date}",
        "send it to {address} ({name}), not the old flat",
        "billing: {name}, {address}, {email}",
    ],
    "none": [
        "Where is my order {order}?",
        "Has order {order} shipped yet? It's been a week",
        "Invoice {invoice} shows {amount} but I paid less",
        "Can I get a refund for the {product}?",
        "My refund {refund} was approved on {date} but nothing came",
        "The {carrier} tracking {tracking} hasn't updated since {date}",
        "Ticket {ticket} is still open, any news?",
        "Do you ship to {city}?",
        "Is the {product} ({sku}) back in stock?",
        "I was charged {amount} twice for order {order}",
        "The {product} arrived broken, order {order}",
        "How long does delivery to {city} take?",
        "cancel order {order} please",
        "I want to return the {product}, it's the wrong colour",
        "Why is invoice {invoice} still open? I paid {amount} on {date}",
        "The {carrier} driver left my parcel at the wrong door",
        "What's your returns policy for the {product}?",
        "my order {order} says delivered on {date} but it isn't here",
        "Can I change the size on order {order}?",
        "tracking number {tracking} says out for delivery",
        "The {product} is {amount} on your site but I paid more",
        "Do you have a discount code? The {product} is a bit expensive",
        "Refund {refund} hasn't reached my card yet",
        "Please escalate ticket {ticket}, nobody replied",
        "I ordered 2 x {product} but only got 1",
        "Is there a warranty on the {product}?",
        "Order {order} and order {order} should have been shipped together",
        "The invoice {invoice} is dated {date}, is that right?",
        "My card was declined but I was still charged {amount}",
        "Can I pay by bank transfer?",
        "How do I reset my password?",
        "You sent me the {product} instead of the {product}",
        "the {carrier} parcel {tracking} is stuck in customs",
        "When will the {product} ({sku}) be restocked?",
        "is {sku} dishwasher safe?",
        "I'd like an invoice for order {order} with VAT",
        "The delivery on {date} was late, can I get a partial refund of {amount}?",
        "Could you reopen ticket {ticket}?",
        "I'm not happy with the {product}, it stopped working after a week",
        "Is the {city} store open on Sunday?",
        "Thanks for the quick help with order {order}!",
        "Do you deliver on Saturdays?",
        "I got an email about order {order} that I never placed",
        "My refund {refund} for {amount} shows as pending",
        "What does status 'processing' mean for order {order}?",
        "Order {order}: the {product} is missing from the box",
        "Can I use Visa or only Mastercard?",
        "Ship the {product} with {carrier} please, not the postal service",
        "Is it possible to change the delivery date to {date}?",
        "order #{order} still not here",
        "I paid {amount} for shipping, that's too much",
        "The {product} on invoice {invoice} is priced wrong",
        "Where can I see my invoices?",
        "I'm writing about ticket {ticket}, the {product} is still faulty",
        "Track {tracking} please",
        "The total was {amount} instead of {amount}",
        "Please delete the duplicate order {order}",
        "Can I return the {product} after 30 days?",
        "How much is express delivery to {city}?",
        "The {carrier} site says {tracking} was delivered on {date}",
        "Why was I charged {amount} in fees?",
        "Does the {product} come in blue?",
        "order {order} - refund {refund} - invoice {invoice}, all for the same {product}",
        "Hello, is anyone there?",
        "My order from {date} has the wrong {product}",
        "I need a copy of invoice {invoice} for my records",
        "please check {tracking}, it went to {city} by mistake",
        "What time does the {carrier} van come?",
        "the {product} costs {amount}, can you price match?",
        "Do you have gift cards?",
    ],
}

# Messages written whole, as customers type (lowercase names, titles, test card numbers,
# formats the sentences above lack), written before the detector was run on them.
# [[value|TYPE]] marks a span.
HAND_WRITTEN = [
    "hi im [[jake|PERSON]] and my parcel is late",
    "[[Marta Nowak|PERSON]] ordered the yoga mat for me, can she return it?",
    "the delivery guy said [[Kevin|PERSON]] signed for it but I don't know any [[Kevin|PERSON]]",
    "Please reply to [[j.doe@mail.com|EMAIL_ADDRESS]] ASAP!!!",
    "My email's [[TOMMY.LEE@HOTMAIL.COM|EMAIL_ADDRESS]]",
    "num: [[+44 7911 654321|PHONE_NUMBER]]",
    "call me on [[(718) 555-0123|PHONE_NUMBER]] after 6",
    "my cell is [[917 555 0156|PHONE_NUMBER]] text don't call",
    "Card: [[5500-0000-0000-0004|CREDIT_CARD]] exp 12/27",
    "the card was [[4242424242424242|CREDIT_CARD]], not telling you the CVV",
    "I use [[378282246310005|CREDIT_CARD]] (amex) for everything",
    "IBAN [[gb33bukb20201555555555|IBAN_CODE]]",
    "bank: [[NL91 ABNA 0417 1643 00|IBAN_CODE]], name [[Pieter de Vries|PERSON]]",
    "Address: [[Flat 2B, 14 Marine Parade, Brighton BN2 1TL|STREET_ADDRESS]]",
    "deliver to [[Apt 7, 455 Larkspur Dr, Baviera, CA 92908|STREET_ADDRESS]] thx",
    "we moved to [[33 rue Lepic, 75018 Paris|STREET_ADDRESS]] last month",
    "can you send it to my work instead: [[1 Infinite Loop, Cupertino, CA 95014|STREET_ADDRESS]]",
    "It's [[Calle de Alcalá 45, 28014 Madrid|STREET_ADDRESS]]",
    "Send the invoice to our office at "
    "[[Unit 4, Riverside Business Park, Leeds LS10 1AB|STREET_ADDRESS]]",
    "Signed, Ms [[Patricia Lowe|PERSON]]",
    "I'm Dr. [[Samuel Osei|PERSON]], I ordered the desk lamp",
    "my son [[Leo|PERSON]] broke the kettle lol",
    "phone [[0044 7911 123456|PHONE_NUMBER]]",
    "Hi, [[Grace Hopper|PERSON]] here, [[grace@example.com|EMAIL_ADDRESS]]",
    "Mr [[Chen|PERSON]] from our accounts team will call you",
    "I am Very disappointed with order 100002",
    "This is Ridiculous, where is my refund RF-700001?",
    "Can I speak to a manager?",
    "The Apple Watch band I ordered is the wrong size",
    "I'm in Paris, Texas, not Paris, France: please reroute order 100317",
    "I ordered 3 Scented candles on 3rd March and got 2",
    "Do you sell Jordan sneakers in size 10?",
    "The Victoria sponge mix arrived open",
    "My order 100420 cost 1,299.00 and shipping was 12.50",
    "the call centre number on your website doesn't work",
    "reference 2026-00431 is on my bank statement, what is it?",
    "tickets T-000078 and T-000079 are about the same thing",
    "Is the Chelsea boot available in brown?",
    "I gave my card to Amazon, not you, so why is there a charge from you?",
    "Where is 100002? Tracking 1Z999AA10123456784 hasn't moved since Monday",
]


DEV_ONLY = "dev only"  # the kind of the messages below
# Dev only: the error classes the held-out run named (card ranges and lengths Presidio's
# regex misses, lower-case and bare first names, street-type-first and unusual house
# numbers), in values and phrasings of our own, with look-alikes that must stay unflagged.
DEV_HAND_WRITTEN = [
    "my new mastercard is [[2221 1588 1399 8692|CREDIT_CARD]], please charge that one",
    "Card [[2720-8797-3091-1411|CREDIT_CARD]] was billed twice for order 100512",
    "pay with [[2453707536455684|CREDIT_CARD]] please",
    "the visa number is [[4055 7616 9871 6897 681|CREDIT_CARD]] (it's a 19 digit one)",
    "refund to [[4469788093208196721|CREDIT_CARD]]",
    "old visa [[4731778486486|CREDIT_CARD]] still on file, remove it",
    "JCB card [[3530 8766 3440 0291|CREDIT_CARD]] was declined",
    "diners club [[3680 457178 4720|CREDIT_CARD]] should work, no?",
    "Use [[30101079819330|CREDIT_CARD]] for the deposit",
    "discover card: [[6441-9084-5205-9973|CREDIT_CARD]]",
    "I paid with [[6528 3792 9822 1621|CREDIT_CARD]] on 2 Nov",
    "unionpay [[6221266105500877|CREDIT_CARD]] was charged RF-700455 never came back",
    "amex [[3480 737028 38226|CREDIT_CARD]]",
    "card no. [[2611.1518.8447.2943|CREDIT_CARD]]",
    "is 2221158813998695 a valid card? checkout says no",
    "the number 4055761698716897684 keeps failing",
    "Reference 3530876634400294 appeared on my statement",
    "order 100873 and invoice INV-500321, charged 6441908452059976?",
    "voucher 4731778486489 doesn't work",
    "cheers [[bram|PERSON]]",
    "[[tunde|PERSON]] here, parcel never came",
    "thanks, [[ines|PERSON]]",
    "can I ask for [[Beatrix|PERSON]]? she had my case",
    "please ask for [[Ottilie|PERSON]] at reception when you deliver",
    "this is [[anselm|PERSON]], the kettle leaks",
    "This is [[Marguerite|PERSON]] again",
    "[[Desmond|PERSON]] from accounts will pay the invoice INV-500812",
    "[[Priyanka Rao|PERSON]] from finance asked me to chase this",
    "hi, [[leonie|PERSON]] speaking, where is order 100764?",
    "regards [[bartholomew quinn|PERSON]]",
    "ta, [[fergus|PERSON]]",
    "sorry, [[anouk|PERSON]] again, any news?",
    "hello its [[dmitri|PERSON]]",
    "my name is [[oskar lindqvist|PERSON]]",
    "i'm [[svetlana|PERSON]] and i want a refund",
    "thank you so much\n[[wilhelmina|PERSON]]",
    "leave it with my neighbour [[Agnieszka|PERSON]] at no. 14",
    "this is ridiculous, order 100231 is a week late",
    "cheers mate, sorted",
    "ask for a refund or a replacement?",
    "the yoga mat from amazon was cheaper",
    "this is urgent, the skillet arrived cracked",
    "dhl here says no one was home",
    "thanks, support",
    "Deliver to [[Via Mazzini 27, 40126 Bologna|STREET_ADDRESS]] please",
    "my address is [[Viale Monza 140, 20127 Milano|STREET_ADDRESS]]",
    "ship it to [[Piazza Navona 3, Roma|STREET_ADDRESS]]",
    "new address: [[Calle Mayor 12, 28013 Madrid|STREET_ADDRESS]]",
    "send it to [[Carrer de Provença 251, 08008 Barcelona|STREET_ADDRESS]]",
    "we live at [[Rue Oberkampf 41, 75011 Paris|STREET_ADDRESS]]",
    "deliver to [[112 bd Haussmann, 75008 Paris|STREET_ADDRESS]]",
    "the parcel should go to [[8 av. Jean Médecin, 06000 Nice|STREET_ADDRESS]]",
    "address: [[Am Kirchberg 7, 55128 Mainz|STREET_ADDRESS]]",
    "I moved to [[Im Tal 22, 80331 München|STREET_ADDRESS]]",
    "ship to [[An der Alster 9, 20099 Hamburg|STREET_ADDRESS]]",
    "It's [[Plaza Mayor 4, Salamanca|STREET_ADDRESS]]",
    "deliver to [[Avenida de la Constitución 30, 41001 Sevilla|STREET_ADDRESS]]",
    "my flat is [[Keizersgracht 91-3, 1015 CJ Amsterdam|STREET_ADDRESS]]",
    "new address [[Damrak 66-2|STREET_ADDRESS]]",
    "send to [[Willowbrook Cottage, Ashby Lane, Marden TN12 9PQ|STREET_ADDRESS]]",
    "address is [[The Old Forge, Chipping Norton OX7 5AB|STREET_ADDRESS]]",
    "deliver to [[17 rosewood avenue, leeds|STREET_ADDRESS]]",
    "please deliver to [[9 harbour view road|STREET_ADDRESS]]",
    "ship to [[12a Cranmore Street, Belfast BT9 6JL|STREET_ADDRESS]]",
    "it's [[5bis rue des Lilas, 69003 Lyon|STREET_ADDRESS]]",
    "address: [[3 bis avenue Foch, 75116 Paris|STREET_ADDRESS]]",
    "my address changed to [[via roma 8, torino|STREET_ADDRESS]]",
    "Card: [[2346 0027 1853 3495|CREDIT_CARD]] exp 09/29",
    "visa [[4716-2231-8890-4415-529|CREDIT_CARD]], 19 digits, declined twice",
    "my JCB [[3566 7647 2587 7188 412|CREDIT_CARD]] isn't accepted?",
    "card [[5169579318603205|CREDIT_CARD]] charged 3 times",
    "hey its [[jonty|PERSON]] here, any update?",
    "signed, [[philippa|PERSON]]",
    "cheers, [[nell|PERSON]] x",
    "please ask for [[Ulrike|PERSON]], she ordered it",
    "my manager [[Tobias|PERSON]] approved the invoice",
    "[[Tobias|PERSON]] at reception will sign for it",
    "im [[radomir|PERSON]], order 100918 is missing a lid",
    "this is taking forever.",
    "it's arrived, but broken.",
    "thanks anyway",
    "parcel here is soaked, what now?",
    "best price I could find, thanks",
    "Sent Via DHL 3 days ago and still nothing",
    "deliver to [[lindenstraße 14|STREET_ADDRESS]] please",
    "address [[C/ Sant Pere 17, 08003 Barcelona|STREET_ADDRESS]]",
    "ship to [[Rua Augusta 120, Lisboa|STREET_ADDRESS]]",
    "I now live at [[Corso Buenos Aires 33, 20124 Milano|STREET_ADDRESS]]",
    "please send to [[The Old Rectory, Church Road, Hawkhurst TN18 4PZ|STREET_ADDRESS]]",
    "address: [[Herengracht 401-III, 1017 BP Amsterdam|STREET_ADDRESS]]",
    "it should go to [[27 av. de la République, 13001 Marseille|STREET_ADDRESS]]",
    "deliver to [[via Cesare Battisti 7, Verona|STREET_ADDRESS]] please",
    "my address is [[Calle Princesa, 22, 4º A, Madrid|STREET_ADDRESS]]",
    "ship to [[Thornfield, Station Road, Settle BD24 9AA|STREET_ADDRESS]]",
    "[[Marisol|PERSON]] here, the order came damaged",
    "Hi, [[Gunnar|PERSON]] speaking, about ticket T-000311",
    "ty, [[ludovic|PERSON]]",
    "paid via Klarna 3 instalments, is that ok?",
    "I sent it back via DHL 2 days ago",
    "Support here? anyone?",
    "ok, that's all!! -[[wendel|PERSON]]",
    "kind regards, [[ciaran o'dowd|PERSON]]",
    "deliver to [[Lindengracht 52-1, Amsterdam|STREET_ADDRESS]]",
    "deliver to [[flat 9, 31 orchard road, exeter|STREET_ADDRESS]]",
    "send it to [[6 quarry road|STREET_ADDRESS]], please",
    "call or email - either works",
    "thanks, will do",
    "its gone. the parcel, I mean",
    "ta muchly",
    "I shopped in Via Roma last year, lovely street",
    "the Rue de la Paix store in Paris was closed",
    "is delivery to Calle Ocho in Miami possible?",
]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str


@dataclass(frozen=True)
class Message:
    text: str
    spans: tuple[Span, ...]
    split: str
    kind: str

    def to_json(self) -> str:
        spans = [{"start": s.start, "end": s.end, "entity": s.entity} for s in self.spans]
        return json.dumps(
            {"text": self.text, "spans": spans, "split": self.split}, ensure_ascii=False
        )


def luhn_check_digit(partial: str) -> int:
    """The digit that makes `partial + digit` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:  # doubled: these sit at odd positions from the right once appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return (10 - total % 10) % 10


def card_number(rng: random.Random, *, valid: bool) -> str:
    """A Visa, Mastercard, Amex or Discover number as people type them; `valid`: Luhn-valid."""
    brand = rng.choice(["visa", "mastercard", "amex", "discover"])
    prefix, length = {
        "visa": ("4", 16),
        "mastercard": (str(rng.randint(51, 55)), 16),
        "amex": (rng.choice(["34", "37"]), 15),
        "discover": ("6011", 16),
    }[brand]
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    check = luhn_check_digit(body)
    digits = body + str(check if valid else (check + rng.randint(1, 9)) % 10)
    if brand == "amex":
        groups = [digits[:4], digits[4:10], digits[10:]]
    else:
        groups = [digits[i : i + 4] for i in range(0, 16, 4)]
    return rng.choice([" ", "-", ""]).join(groups)


def iban(rng: random.Random, country: str) -> str:
    """A well-formed IBAN of `country` (ISO 13616 check digits), grouped by four or not."""
    alphabet = {
        "n": "0123456789",
        "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "c": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    }
    bban = "".join(
        "".join(rng.choice(alphabet[kind]) for _ in range(count))
        for kind, count in IBAN_FORMATS[country]
    )
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    code = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    if rng.random() < 0.6:
        return " ".join(code[i : i + 4] for i in range(0, len(code), 4))
    return code


class Values:
    """Each split's own values: even-indexed ones for dev, odd for test, drawn in turn."""

    def __init__(self, rng: random.Random, split: str) -> None:
        self.rng = rng
        parity = SPLITS.index(split)
        self.pools: dict[str, list[str]] = {
            "name": NAMES[parity::2],
            "first": FIRST_NAMES[parity::2],
            "email": EMAILS[parity::2],
            "phone": [number for number, _ in PHONES[parity::2]],
            "address": ADDRESSES[parity::2],
            "product": PRODUCTS,
            "carrier": CARRIERS,
            "city": CITIES,
        }
        self.used = {slot: 0 for slot in self.pools}
        countries = sorted(IBAN_FORMATS)[parity::2]
        self.countries = countries + sorted(IBAN_FORMATS)[1 - parity :: 2]

    def take(self, slot: str) -> str:
        pool = self.pools.get(slot)
        if pool is not None:
            value = pool[self.used[slot] % len(pool)]
            self.used[slot] += 1
            return value
        rng = self.rng
        if slot == "card":
            return card_number(rng, valid=True)
        if slot == "badcard":
            return card_number(rng, valid=False)
        if slot == "iban":
            return iban(rng, rng.choice(self.countries))
        if slot == "last4":
            return f"{rng.randint(0, 9999):04d}"
        if slot == "order":
            return str(rng.randint(100001, 100999))
        if slot == "invoice":
            return f"INV-{rng.randint(500001, 500999)}"
        if slot == "refund":
            return f"RF-{rng.randint(700001, 700999)}"
        if slot == "ticket":
            return f"T-{rng.randint(1, 999):06d}"
        if slot == "sku":
            return f"SKU-{rng.randint(1001, 1025)}"
        if slot == "tracking":
            return rng.choice(
                [
                    "1Z999AA10123456784",
                    f"{rng.choice(['UP', 'DH', 'FE', 'US'])}{rng.randint(10**9, 10**10 - 1)}",
                ]
            )
        if slot == "amount":
            value = f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}"
            return rng.choice(
                [f"${value}", f"£{value}", f"€{value}", f"{value} EUR", f"{value} USD"]
            )
        if slot == "date":
            day, month = rng.randint(1, 28), rng.randint(1, 12)
            months = [
                "Jan",
                "Feb",
                "Mar",
                "Apr",
                "May",
                "June",
                "July",
                "Aug",
                "Sept",
                "Oct",
                "Nov",
                "Dec",
            ]
            return rng.choice(
                [
                    f"{day:02d}/{month:02d}/2026",
                    f"2026-{month:02d}-{day:02d}",
                    f"{day} {months[month - 1]}",
                    f"{months[month - 1]} {day}, 2026",
                ]
            )
        raise ValueError(f"unknown slot {{{slot}}}")


LABELS = {
    "name": "PERSON",
    "first": "PERSON",
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "card": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "address": "STREET_ADDRESS",
}
SLOT = re.compile(r"\{(\w+)\}")


def render(template: str, values: Values) -> tuple[str, tuple[Span, ...]]:
    text, spans, position = "", [], 0
    for match in SLOT.finditer(template):
        text += template[position : match.start()]
        value = values.take(match.group(1))
        if match.group(1) in LABELS:
            spans.append(Span(len(text), len(text) + len(value), LABELS[match.group(1)]))
        text += value
        position = match.end()
    return text + template[position:], tuple(spans)


MARKED = re.compile(r"\[\[(.+?)\|(\w+)\]\]")


def unmark(marked: str) -> tuple[str, tuple[Span, ...]]:
    text, spans, position = "", [], 0
    for match in MARKED.finditer(marked):
        text += marked[position : match.start()]
        spans.append(Span(len(text), len(text) + len(match.group(1)), match.group(2)))
        text += match.group(1)
        position = match.end()
    return text + marked[position:], tuple(spans)


def build() -> list[Message]:
    rng = random.Random(SEED)
    values = {split: Values(rng, split) for split in SPLITS}
    messages = []
    for index, marked in enumerate(HAND_WRITTEN):
        text, spans = unmark(marked)
        messages.append(Message(text, spans, SPLITS[index % 2], "hand-written"))
    for kind, sentences in SENTENCES.items():
        for _ in range(RENDERINGS.get(kind, 1)):
            for index, template in enumerate(sentences):
                split = SPLITS[index % 2]
                text, spans = render(template, values[split])
                messages.append(Message(text, spans, split, kind))
    for marked in DEV_HAND_WRITTEN:
        text, spans = unmark(marked)
        messages.append(Message(text, spans, "dev", DEV_ONLY))
    return messages


def read(path: Path = DATASET) -> list[Message]:
    """The committed set (kind is not stored: "" on read)."""
    messages = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        spans = tuple(Span(s["start"], s["end"], s["entity"]) for s in row["spans"])
        messages.append(Message(row["text"], spans, row["split"], ""))
    return messages


def counts(messages: Sequence[Message], splits: Sequence[str] = SPLITS) -> Iterator[str]:
    for split in splits:
        part = [m for m in messages if m.split == split]
        per_type: dict[str, int] = {}
        for message in part:
            for span in message.spans:
                per_type[span.entity] = per_type.get(span.entity, 0) + 1
        empty = sum(not m.spans for m in part)
        spans = ", ".join(f"{entity} {count}" for entity, count in sorted(per_type.items()))
        yield f"{split}: {len(part)} messages ({empty} without PII); {spans}"


def main() -> None:
    messages = build()
    DATASET.parent.mkdir(parents=True, exist_ok=True)
    DATASET.write_text("".join(m.to_json() + "\n" for m in messages), encoding="utf-8")
    print(f"Wrote {len(messages)} messages to {DATASET}")
    for line in counts(messages):
        print(line)


if __name__ == "__main__":
    main()
