"""supportbot.privacy.pii on the real Presidio and the installed spaCy model."""

from __future__ import annotations

import itertools
import logging
import os
import socket
import subprocess
import sys
import threading
from typing import Any

import pytest

from supportbot.privacy.pii import (
    ENTITIES,
    PATTERN_ENTITIES,
    PiiDetector,
    PiiSpan,
    get_pii_detector,
    spacy_model_dir,
)
from supportbot.settings import PROJECT_ROOT

PATTERNS = sorted(PATTERN_ENTITIES)


@pytest.fixture(scope="session")
def detector() -> PiiDetector:
    return get_pii_detector()


def found(detector: PiiDetector, text: str, entities: Any = ENTITIES) -> list[tuple[str, str]]:
    return [(span.entity, text[span.start : span.end]) for span in detector.find(text, entities)]


def test_loads_the_installed_model_with_the_network_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[tuple[object, ...]] = []

    def unreachable(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(socket.socket, "connect", unreachable)
    monkeypatch.setattr(socket.socket, "connect_ex", unreachable)
    monkeypatch.setattr(socket, "getaddrinfo", unreachable)
    with pytest.raises(OSError, match="unreachable"):
        socket.create_connection(("example.com", 443), timeout=1)
    attempts.clear()

    offline = PiiDetector()
    text = "I'm Maria Garcia, write to maria.garcia84@gmail.com or call +44 20 7946 0958"
    assert found(offline, text) == [
        ("PERSON", "Maria Garcia"),
        ("EMAIL_ADDRESS", "maria.garcia84@gmail.com"),
        ("PHONE_NUMBER", "+44 20 7946 0958"),
    ]
    assert attempts == []  # not even tried (a fallback after a failed download would pass)
    assert spacy_model_dir().is_dir()
    assert (spacy_model_dir() / "meta.json").is_file()


def test_presidio_loads_without_torch_and_leaves_it_importable() -> None:
    # presidio_analyzer and thinc import torch and transformers when installed (seconds and
    # hundreds of MB); the detector uses neither.
    code = (
        "import importlib.util, sys\n"
        "from supportbot.privacy.pii import PiiDetector\n"
        "assert len(PiiDetector().find('I am Maria Garcia, call 07911 123456')) == 2\n"
        "print(sorted(name for name in ('torch', 'transformers') if name in sys.modules))\n"
        "print(all(importlib.util.find_spec(name) for name in ('torch', 'transformers')))\n"
    )
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split("\n")[:2] == ["[]", "True"]


@pytest.mark.parametrize(
    "text",
    [
        "Where is order 100001?",
        "order #100234 still not here",
        "Invoice INV-500002 shows $39.90 but I paid £12.50",
        "My refund RF-700001 was approved on 12/03/2026",
        "Ticket T-000012 is still open since 2026-11-03",
        "Is SKU-1015 back in stock?",
        "UPS tracking 1Z999AA10123456784 hasn't moved since Nov 3",
        "DHL parcel DH4839201856 is stuck, and so is FE1234567890",
        "Order 100420 cost 1,299.00 EUR and shipping 12.50 USD",
        "The UPS driver left the French press and the Wireless earbuds at the door",
        "Can I pay with Visa or Mastercard?",
        "my card ending in 4242 was declined",
        # Both pass for phone numbers with libphonenumber unless recognised as the shop's.
        "delivered on 03.12.2026 at noon",
        "the refund was 2015550123 dollars, surely a typo",
    ],
)
def test_leaves_the_shops_references_and_words_alone(detector: PiiDetector, text: str) -> None:
    assert detector.find(text) == []
    assert detector.redact(text) == text


def test_a_phone_beside_an_order_number_takes_only_the_phone(detector: PiiDetector) -> None:
    text = "order 100001, call 07911 123456 or (415) 555-0132 about invoice INV-500001"
    assert detector.redact(text) == (
        "order 100001, call <PHONE_NUMBER> or <PHONE_NUMBER> about invoice INV-500001"
    )


@pytest.mark.parametrize(
    ("number", "is_card"),
    [
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("5500000000000004", True),
        ("3782 822463 10005", True),
        ("4111 1111 1111 1112", False),
        ("5500000000000005", False),
        # Mastercard's 2-series, 19- and 13-digit Visa, JCB, Diners, Discover: ranges and
        # lengths Presidio's own card pattern misses, grouped as people type them.
        ("2299 3775 9458 0795", True),
        ("4869 4111 5109 5494 132", True),
        ("4482690592981", True),
        ("3541-1884-7187-2070", True),
        ("3643 961627 1860", True),
        ("6585.4312.1890.0790", True),
        ("2299 3775 9458 0796", False),
        # Luhn-valid but in no network's range.
        ("1440 2176 1766 6751", False),
        ("9985898090549863", False),
    ],
)
def test_a_card_number_must_pass_the_luhn_check(
    detector: PiiDetector, number: str, is_card: bool
) -> None:
    text = f"I was charged twice on {number} for order 100001"
    expected = [("CREDIT_CARD", number)] if is_card else []
    assert found(detector, text) == expected


@pytest.mark.parametrize(
    ("iban", "is_iban"),
    [
        ("DE89 3704 0044 0532 0130 00", True),
        ("GB82WEST12345698765432", True),
        ("gb82 west 1234 5698 7654 32", True),
        ("FR14 2004 1010 0505 0001 3M02 606", True),
        ("DE89 3704 0044 0532 0130 01", False),
    ],
)
def test_an_iban_must_pass_its_checksum(detector: PiiDetector, iban: str, is_iban: bool) -> None:
    expected = [("IBAN_CODE", iban)] if is_iban else []
    assert found(detector, f"Please refund to {iban}, thanks", PATTERNS) == expected


@pytest.mark.parametrize(
    "address",
    [
        "221B Baker Street, London NW1 6XE",
        "12 Main St, Springfield, IL 62704",
        "Flat 3, 45 Queen's Road, Brighton BN1 3XE",
        "350 West 57th Street, Apt 4B, New York, NY 10019",
        "Hauptstraße 5, 10115 Berlin",
        "50 rue de Rivoli, 75001 Paris",
    ],
)
def test_finds_street_addresses_whole(detector: PiiDetector, address: str) -> None:
    assert found(detector, f"Please ship order 100003 to {address}") == [
        ("STREET_ADDRESS", address)
    ]


def test_a_card_followed_by_more_digits_is_the_card_alone(detector: PiiDetector) -> None:
    assert found(detector, "card 2299 3775 9458 0795 12 times?", PATTERNS) == [
        ("CREDIT_CARD", "2299 3775 9458 0795")
    ]


@pytest.mark.parametrize(
    "address",
    [
        "Via Cavour 52, 50129 Firenze",
        "Calle de Toledo 9, Madrid",
        "Am Steinweg 11, 60313 Frankfurt",
        "An der Mühle 4",
        "43 bd Gambetta, 38000 Grenoble",
        "7bis rue Colbert, 13001 Marseille",
        "Herengracht 120-2, 1015 BS Amsterdam",
        "Rosehill Cottage, Priory Lane, Ledbury HR8 1AA",
        "Greystones, Mill Road, Alnwick NE66 1AB",
        "via Cavour 52, Firenze",
        "Calle Atocha, 8, 2º C, Madrid",
    ],
)
def test_finds_continental_addresses_and_house_names(detector: PiiDetector, address: str) -> None:
    assert found(detector, f"Deliver order 100003 to {address}") == [("STREET_ADDRESS", address)]


def test_a_street_without_a_number_is_neither_an_address_nor_a_person(
    detector: PiiDetector,
) -> None:
    assert detector.find("Is delivery to Calle Ocho in Miami possible?") == []
    assert detector.find("the Rue de la Paix shop was closed") == []
    assert detector.find("I paid via Klarna 3 instalments, sent via DHL 2 days ago") == []


def test_a_lower_case_address_needs_a_word_that_says_so(detector: PiiDetector) -> None:
    assert found(detector, "my new address is 14 elm street") == [
        ("STREET_ADDRESS", "14 elm street")
    ]
    assert detector.find("i bought 2 wool blankets way too late") == []


def test_names_from_phrases_and_sign_offs(detector: PiiDetector) -> None:
    assert found(detector, "Can you cancel order 100004? Thanks, Priya Patel") == [
        ("PERSON", "Priya Patel")
    ]
    assert found(detector, "I'm Dr. Samuel Osei, I ordered the desk lamp") == [
        ("PERSON", "Samuel Osei")
    ]
    assert found(detector, "thanks for sorting it out!\n- Katie") == [("PERSON", "Katie")]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("cheers jonas", "jonas"),
        ("ta, mirela", "mirela"),
        ("thank you so much\nhenrietta", "henrietta"),
        ("zainab here, my parcel is late", "zainab"),
        ("hi, casimir speaking", "casimir"),
        ("Hello, Berenike here, my order is late", "Berenike"),
        ("this is ottavio, the lamp flickers", "ottavio"),
        ("my name is ruth okonkwo", "ruth okonkwo"),
        ("please ask for Wilfred at the door", "Wilfred"),
        ("leave it with my neighbour Ingeborg", "Ingeborg"),
    ],
)
def test_names_in_lower_case_or_bare_after_a_cue(
    detector: PiiDetector, text: str, name: str
) -> None:
    assert found(detector, text) == [("PERSON", name)]


@pytest.mark.parametrize(
    "text",
    [
        "cheers mate",
        "thanks, support",
        "this is ridiculous, where is my order?",
        "it's invalid, the form says",
        "i'm confused and a bit annoyed",
        "can I ask for a refund?",
        "thanks again",
    ],
)
def test_chat_words_after_a_cue_are_no_names(detector: PiiDetector, text: str) -> None:
    assert detector.find(text) == []


def test_overlapping_spans_resolve_to_the_surer_type(detector: PiiDetector) -> None:
    # spaCy's model takes "Email john.smith@gmail.com" for a person; the email wins.
    text = "Hi, I'm John Smith. Email john.smith@gmail.com, card 4111 1111 1111 1111"
    spans = detector.find(text)
    assert found(detector, text) == [
        ("PERSON", "John Smith"),
        ("EMAIL_ADDRESS", "john.smith@gmail.com"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
    ]
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_asking_for_fewer_types_returns_the_same_spans_of_those(detector: PiiDetector) -> None:
    text = (
        "I'm Grace Hopper (grace@example.com, +1 415 555 0199), IBAN "
        "GB82 WEST 1234 5698 7654 32, living at 10 Downing Street, London SW1A 2AA"
    )
    everything = detector.find(text)
    assert {span.entity for span in everything} == set(ENTITIES) - {"CREDIT_CARD"}
    for subset in (["PERSON"], ["STREET_ADDRESS", "EMAIL_ADDRESS"], PATTERNS):
        assert detector.find(text, subset) == [s for s in everything if s.entity in subset]
    assert detector.find(text, []) == []
    assert detector.find(text, ["NOT_A_TYPE"]) == []
    assert detector.find("") == []


def test_redact_replaces_each_span_with_its_type(detector: PiiDetector) -> None:
    text = (
        "Hi, I'm Maria Garcia, card 4111 1111 1111 1111 for order 100002, refund to "
        "DE89 3704 0044 0532 0130 00, ship to 221B Baker Street, London NW1 6XE"
    )
    assert detector.redact(text) == (
        "Hi, I'm <PERSON>, card <CREDIT_CARD> for order 100002, refund to <IBAN_CODE>, "
        "ship to <STREET_ADDRESS>"
    )
    assert detector.redact(text, ["CREDIT_CARD", "IBAN_CODE"]) == (
        "Hi, I'm Maria Garcia, card <CREDIT_CARD> for order 100002, refund to <IBAN_CODE>, "
        "ship to 221B Baker Street, London NW1 6XE"
    )


def test_pattern_types_alone_never_load_spacy(detector: PiiDetector) -> None:
    text = "Call +44 20 7946 0958, email ada@example.com, card 4111 1111 1111 1111, Ada Lovelace"
    expected = [s for s in detector.find(text) if s.entity in PATTERN_ENTITIES]

    fresh = PiiDetector()
    assert fresh.find(text, PATTERNS) == expected
    assert fresh.redact(text, PATTERNS) == (
        "Call <PHONE_NUMBER>, email <EMAIL_ADDRESS>, card <CREDIT_CARD>, Ada Lovelace"
    )
    assert fresh._analyzer is None  # spaCy is loaded with the analyzer, on first need


def test_presidio_logs_none_of_the_message(
    detector: PiiDetector, caplog: pytest.LogCaptureFixture
) -> None:
    text = "my name is Maria Garcia, IBAN gb33bukb20201555555555, call 07911 123456"
    with caplog.at_level(logging.DEBUG):
        assert len(detector.find(text)) == 3
        assert len(detector.find(text, PATTERNS)) == 2
    logged = " ".join(record.getMessage() for record in caplog.records)
    for value in ("maria", "garcia", "gb33", "07911"):
        assert value not in logged.lower()


def test_threads_sharing_the_detector_get_what_one_thread_gets(detector: PiiDetector) -> None:
    texts = [
        "I'm Wei Zhang, w.zhang@outlook.com, order 100001",
        "Ship to 12 Main St, Springfield, IL 62704 and call (415) 555-0132",
        "Refund to NL91 ABNA 0417 1643 00 please, thanks, Sofia Rossi",
        "Card 5500 0000 0000 0004 was charged twice for INV-500002",
    ] * 5
    expected = [detector.find(text) for text in texts]
    results: dict[int, list[list[PiiSpan]]] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            results[worker] = [
                detector.find(text, ENTITIES if i % 2 else PATTERNS) for i, text in enumerate(texts)
            ]
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for spans in results.values():
        for i, (got, want) in enumerate(zip(spans, expected, strict=True)):
            wanted = ENTITIES if i % 2 else PATTERNS
            assert got == [s for s in want if s.entity in wanted]
