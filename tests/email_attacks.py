"""Texts that make an unanchored email pattern quadratic: ~200 KB without a space, each shaped
against one part of the pattern. Shared by the Rasa-side and the application-side tests."""

from __future__ import annotations

LONG_RUNS = {
    "run": "a" * 200_000,
    "run-at": "a" * 200_000 + "@",
    "long-domain": "a@" + "b" * 200_000,
    "dots": "a." * 100_000,
    "dashes": "a-" * 100_000,
    "dotted-domain": "a@" + "a." * 100_000,
    "many-at": ("a" * 60 + "@") * 3_300,
}
# A linear scan of one of them takes milliseconds; the old patterns took 2-4 s on 20 KB, so
# minutes on these.
LINEAR_BOUND_S = 3.0
