"""The redacting runner: real commands, the real detector, their output masked and never held up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from supportbot.privacy.log_redaction import (
    COARSE_MASK,
    MAX_LINE_BYTES,
    NOTE_PREFIX,
    Redactor,
    coarse_mask,
    redacted,
)
from supportbot.privacy.pii import get_pii_detector

EMAIL = "jane.doe@example.org"
CARD = "4539 1488 0343 6467"  # Luhn-valid
PHONE = "+44 20 7946 0958"
IBAN = "GB82 WEST 1234 5698 7654 32"
ROOT = Path(__file__).resolve().parents[3]


def run_redacted(code: str, **options) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        redacted([sys.executable, "-c", textwrap.dedent(code)]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        **options,
    )


def test_both_streams_are_masked_long_and_unfinished_lines_too_and_the_exit_code_kept() -> None:
    runner = subprocess.Popen(
        redacted(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    f"""
                    import sys
                    print("INFO turn 7: customer wrote 'mail {EMAIL}, card {CARD}'", flush=True)
                    print("WARNING no personal data in this line", flush=True)
                    print("ValueError: call {PHONE} or pay to {IBAN}", file=sys.stderr)
                    sys.stdin.read()  # until the test has seen those lines
                    sys.stdout.write("x" * {MAX_LINE_BYTES} + " then {EMAIL} " + "y" * 99 + "\\n")
                    sys.stdout.write("last words: {CARD}")
                    sys.exit(3)
                    """
                ),
            ]
        ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    assert runner.stdin and runner.stdout and runner.stderr
    # Masked by the detector (loading it, at a low priority, takes seconds).
    assert runner.stdout.readline() == (
        "INFO turn 7: customer wrote 'mail <EMAIL_ADDRESS>, card <CREDIT_CARD>'\n"
    )
    assert runner.stdout.readline() == "WARNING no personal data in this line\n"
    assert runner.stderr.readline() == "ValueError: call <PHONE_NUMBER> or pay to <IBAN_CODE>\n"
    runner.stdin.close()
    rest = runner.stdout.read()
    assert runner.wait(timeout=60) == 3
    # Cut in two, each piece masked (coarsely: too long for the detector).
    assert EMAIL not in rest and COARSE_MASK in rest
    assert rest.count("x") == MAX_LINE_BYTES and rest.count("y") == 99
    assert rest.endswith("last words: <CREDIT_CARD>")


def test_signals_reach_the_command_and_the_runner_ends_as_it_did() -> None:
    runner = subprocess.Popen(
        redacted(
            [
                sys.executable,
                "-c",
                "import signal, sys, time\n"
                "signal.signal(signal.SIGTERM, lambda *_: sys.exit(5))\n"
                "print('ready', flush=True)\n"
                "time.sleep(60)\n",
            ]
        ),
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert runner.stdout is not None
    assert runner.stdout.readline() == b"ready\n"
    runner.terminate()
    assert runner.wait(timeout=30) == 5

    killed = subprocess.Popen(
        redacted([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]),
        cwd=ROOT,
    )
    assert killed.wait(timeout=30) == -signal.SIGKILL


def test_a_flood_of_output_never_waits_for_the_detector() -> None:
    # The runner takes seconds to load the detector and milliseconds a line after that: the
    # command must still write 20,000 lines at its own pace, and every one arrive masked.
    lines = 20_000
    done = run_redacted(
        f"""
        import sys, time
        started = time.monotonic()
        for i in range({lines}):
            print(f"{{i}} the customer's card is {CARD}")
        sys.stdout.flush()
        print(f"wrote in {{time.monotonic() - started:.2f}} s", file=sys.stderr)
        """
    )
    assert done.returncode == 0
    seconds = float(done.stderr.split("wrote in ")[1].split()[0])
    assert seconds < 5, f"the command was held up for {seconds} s"
    out = done.stdout.splitlines()
    assert len(out) == lines
    assert not any(CARD in line or "4539 1488" in line for line in out)


def test_the_coarse_mask_covers_what_the_detector_finds() -> None:
    detector = get_pii_detector()
    samples = [
        f"write to {EMAIL} please",
        f"my card: {CARD}, expiry 09/29",
        "card 4539148803436467 again",
        f"phone {PHONE} or (020) 7946-0958",
        f"IBAN {IBAN}, or de89370400440532013000",
        "nothing personal at 2026-12-03 19:00:01 in order 100042",
    ]
    for text in samples:
        found = detector.find(text, ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE"))
        coarse = coarse_mask(text)
        for span in found:
            assert text[span.start : span.end] not in coarse, (text, span)
    for kept in ("GET /status 200 in 3 ms", "2026-12-03 19:00:01,370 on http://127.0.0.1:5005"):
        assert coarse_mask(kept) == kept
    assert coarse_mask(f"id {EMAIL}") == f"id {COARSE_MASK}"


def test_a_phone_in_dotted_groups_is_not_kept_as_an_address() -> None:
    """Addresses are kept unmasked, and unread by the detector: only real IPv4 ones."""
    detector = get_pii_detector()
    redactor = Redactor({}, load_mask=lambda: detector.redact)
    line = "2026-12-03 19:00:01,370 call me on 030.123.456.78 or 030.123.45.78, from 10.0.0.12"
    precise = _redact_in_process(redactor, line.encode() + b"\n").decode().rstrip("\n")
    for masked in (coarse_mask(line), precise):
        assert "030.123" not in masked, masked
        assert masked.startswith("2026-12-03 19:00:01,370 ") and masked.endswith(" 10.0.0.12")
    for kept in ("on 0.0.0.0:5055", "from 192.168.1.100 and 255.255.255.0", "at 127.0.0.1"):
        assert coarse_mask(kept) == kept


def _redact_in_process(redactor: Redactor, data: bytes) -> bytes:
    (source_r, source_w), (sink_r, sink_w) = os.pipe(), os.pipe()
    redactor.outputs = {1: sink_w, 2: sink_w}
    reader = redactor.read(source_r, 1)
    os.write(source_w, data)
    os.close(source_w)
    reader.join(10)
    writer = threading.Thread(target=redactor.write)
    writer.start()
    writer.join(30)
    os.close(sink_w)
    with os.fdopen(sink_r, "rb") as sink:
        return sink.read()


def test_without_the_detector_every_line_is_masked_coarsely() -> None:
    def broken() -> None:
        raise ImportError("presidio_analyzer")

    out = _redact_in_process(Redactor({}, load_mask=broken), f"card {CARD}\n".encode())
    assert out.decode().splitlines() == [
        f"{NOTE_PREFIX} the detector could not be loaded (ImportError): every line is masked "
        "coarsely",
        f"card {COARSE_MASK}",
    ]


def test_lines_beyond_the_backlog_cap_are_dropped_and_counted() -> None:
    # The writer starts only once all lines were read: an output blocked meanwhile.
    line = b"a line of 24 characters\n"
    out = _redact_in_process(Redactor({}, backlog_bytes=10 * len(line)), line * 25)
    assert out.decode().splitlines() == [
        f"{NOTE_PREFIX} 15 lines dropped: the log output was blocked",
        *["a line of 24 characters"] * 10,
    ]


def test_files_the_command_creates_are_its_owners_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # a usual login shell's
    try:
        done = run_redacted(f"open({str(tmp_path / 'made.db')!r}, 'w').write('x')")
    finally:
        os.umask(previous)
    assert done.returncode == 0
    assert (tmp_path / "made.db").stat().st_mode & 0o777 == 0o600


def test_no_command_is_a_usage_error() -> None:
    done = subprocess.run(redacted([]), capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1 and "usage:" in done.stderr
