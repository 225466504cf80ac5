"""Logs without personal data: every line a process prints, masked before it is written down.

`python -m supportbot.privacy.log_redaction -- COMMAND [ARG...]` runs COMMAND with its stdout and
stderr piped here, and writes each line on to this process's stdout and stderr with emails,
phone numbers, card numbers and IBANs replaced by their type (`<EMAIL_ADDRESS>`), found by
`supportbot.privacy.pii`. It covers what no logging configuration reaches: Rasa's structlog
lines, tracebacks, warnings a library prints. `supportbot run` starts its three processes this
way, so do the integration tests' stacks, and deploy manifests can.

- It is transparent to whoever runs it: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 go
  on to COMMAND (which runs in a process group of its own, so a terminal's Ctrl-C reaches it
  once), it ends as COMMAND ended (its exit status, or the same signal), and COMMAND gets SIGTERM
  if this process dies.
- It never holds COMMAND up: reader threads empty the pipes into memory as fast as COMMAND writes.
  Masking a line takes milliseconds (Presidio), and loading the detector seconds (in a thread of
  its own, once a line may need it; it runs at a lower priority than COMMAND). When more than
  BEHIND_LINES lines wait, or COMMAND ended FINISH_WAIT_S ago and the detector still loads, they
  are masked coarsely instead (`<REDACTED>` over every token with an @ and every run of six
  digits or more, timestamps and IP addresses aside), which keeps up with any output and lets
  nothing through; so are lines longer than PRECISE_MAX_CHARS. Only when the output itself is
  blocked and BACKLOG_BYTES wait are lines dropped, and counted in a note.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import FrameType

from supportbot.privacy.pii import PATTERN_ENTITIES

# What patterns find (no language model: well under a millisecond a line), and none of it ever
# belongs in a log.
LOG_ENTITIES = PATTERN_ENTITIES
MODULE = "supportbot.privacy.log_redaction"
FORWARDED_SIGNALS = (
    signal.SIGTERM,
    signal.SIGINT,
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGUSR1,
    signal.SIGUSR2,
)
# A longer line is cut (at its last space when it has one) and each piece masked on its own.
MAX_LINE_BYTES = 64 * 1024
# The runner's priority below COMMAND's (nice), which keeps its own.
NICENESS = 10
# A longer line (a dump of a tracker, say) is masked coarsely: the detector would take seconds.
PRECISE_MAX_CHARS = 2000
# More lines than this waiting: the waiting ones are masked coarsely, until the backlog is gone.
BEHIND_LINES = 200
# Output blocked with this much waiting: further lines are dropped (and counted).
BACKLOG_BYTES = 64 * 1024 * 1024
# The pipe from COMMAND (Linux's default is 64 KiB; up to /proc/sys/fs/pipe-max-size).
PIPE_BYTES = 1024 * 1024
# After COMMAND ends: how long its last lines may wait for the detector to load.
FINISH_WAIT_S = 5.0
# After COMMAND ends: how long its pipes may stay open (a grandchild holding them) and how long
# the last lines may take to be written.
DRAIN_TIMEOUT_S = 30.0
COARSE_MASK = "<REDACTED>"
NOTE_PREFIX = "[log redaction]"

# An IPv4 address's part as servers print it: 0-255, no leading zero. Phone numbers written in
# dotted groups ("030.123.456.78": a trunk 0, a group over 255) are not addresses.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"\b{_OCTET}(?:\.{_OCTET}){{3}}\b(?![.0-9])"
# A superset of what the detector finds for LOG_ENTITIES: anything with an @ in it (emails), an
# IBAN's shape, and six digits or more with separators between them (phones, cards, IBANs); but
# not the timestamp a log line starts with (2026-12-03 19:28:09,370) nor an IPv4 address (where
# a server listens), whatever their digits.
_COARSE = re.compile(
    r"""(?P<keep>[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?
                | """
    + _IPV4
    + r""")
      | [^\s"'<>()\[\]{},;]*@[^\s"'<>()\[\]{},;]*
      | \b[A-Za-z]{2}[0-9]{2}(?:[ ]?[A-Za-z0-9]){11,30}\b
      | \+?[0-9](?:[\s\-./()]{0,3}[0-9]){5,}""",
    re.VERBOSE,
)

Mask = Callable[[str], str]


def _coarse(match: re.Match[str]) -> str:
    return match.group() if match.group("keep") else COARSE_MASK


def coarse_mask(text: str) -> str:
    return _COARSE.sub(_coarse, text)


def _suspect(text: str) -> bool:
    """Whether `text` may hold what the detector finds (most log lines cannot)."""
    return any(not match.group("keep") for match in _COARSE.finditer(text))


def detector_mask() -> Mask:
    """The detector's redaction of LOG_ENTITIES (loading it takes seconds)."""
    from supportbot.privacy.pii import get_pii_detector

    return partial(get_pii_detector().redact, entities=LOG_ENTITIES)


@dataclass
class _Line:
    stream: int  # 1: stdout, 2: stderr (this process's file descriptor it goes to)
    data: bytes


@dataclass
class Redactor:
    """Lines in (from reader threads), masked lines out (from one writer thread)."""

    outputs: dict[int, int]  # stream -> file descriptor
    load_mask: Callable[[], Mask] = detector_mask
    behind_lines: int = BEHIND_LINES
    backlog_bytes: int = BACKLOG_BYTES
    _mask: Mask | None = None
    _load_error: str = ""
    _loader: threading.Thread | None = None
    _finish_by: float | None = None
    _lines: deque[_Line] = field(default_factory=deque)
    _output: bytearray = field(default_factory=bytearray)
    _output_stream: int = 0
    _bytes: int = 0
    _dropped: int = 0
    _readers: int = 0
    _ready: threading.Condition = field(default_factory=threading.Condition)

    def read(self, fd: int, stream: int) -> threading.Thread:
        """Start a thread that takes lines from `fd` until it closes."""
        with self._ready:
            self._readers += 1
        thread = threading.Thread(target=self._read, args=(fd, stream), daemon=True)
        thread.start()
        return thread

    def _read(self, fd: int, stream: int) -> None:
        pending = b""
        try:
            while chunk := os.read(fd, 65536):
                *complete, pending = (pending + chunk).split(b"\n")
                lines = [line + b"\n" for line in complete]
                while len(pending) > MAX_LINE_BYTES:
                    cut = pending.rfind(b" ", 0, MAX_LINE_BYTES) + 1 or MAX_LINE_BYTES
                    lines.append(pending[:cut])
                    pending = pending[cut:]
                self._put(stream, lines)
        except OSError:
            pass  # the pipe broke: what was read is written on
        finally:
            os.close(fd)
            self._put(stream, [pending] if pending else [])
            with self._ready:
                self._readers -= 1
                self._ready.notify()

    def _put(self, stream: int, lines: list[bytes]) -> None:
        if not lines:
            return
        with self._ready:
            for line in lines:
                if self._bytes + len(line) > self.backlog_bytes:
                    self._dropped += 1
                    continue
                self._lines.append(_Line(stream, line))
                self._bytes += len(line)
            self._ready.notify()

    def write(self) -> None:
        """Mask and write lines until every reader has finished and nothing waits."""
        while True:
            with self._ready:
                idle = not self._lines
            if idle:  # written on as soon as nothing more is waiting, never held back
                self._flush()
            with self._ready:
                while not self._lines and self._readers and not self._dropped:
                    self._ready.wait()
                dropped, self._dropped = self._dropped, 0
                line = self._lines.popleft() if self._lines else None
                if line is not None:
                    self._bytes -= len(line.data)
            if dropped:
                self._note(f"{dropped} lines dropped: the log output was blocked")
            if line is None:
                if not dropped:
                    self._flush()
                    return
                continue
            text = line.data.decode("utf-8", "surrogateescape")
            masked = self._masked(text) if len(text) <= PRECISE_MAX_CHARS else coarse_mask(text)
            self._write(line.stream, masked.encode("utf-8", "surrogateescape"))

    def finish(self) -> None:
        """The command has ended: what waits for the detector FINISH_WAIT_S from now on is
        masked coarsely (whoever stopped the command waits for this process too)."""
        with self._ready:
            self._finish_by = time.monotonic() + FINISH_WAIT_S
            self._ready.notify_all()

    def _masked(self, text: str) -> str:
        """`text` masked by the detector, which reads the pieces between the timestamps and
        addresses kept (their digits cost libphonenumber most of its time on a log line)."""
        pieces, start = [], 0
        for match in _COARSE.finditer(text):
            if match.group("keep"):
                pieces += [self._masked_piece(text[start : match.start()]), match.group()]
                start = match.end()
        return "".join([*pieces, self._masked_piece(text[start:])])

    def _masked_piece(self, text: str) -> str:
        if not _suspect(text):
            return text  # nothing the detector could find: it need not even be loaded
        mask = self._detector()
        try:
            return mask(text)
        except Exception:  # a line the detector cannot take is still never written as it is
            return coarse_mask(text)

    def _detector(self) -> Mask:
        """The detector's mask, once it is loaded (in a thread of its own); the coarse one
        while it loads and lines pile up, or the command has ended."""
        with self._ready:
            if self._loader is None:
                self._loader = threading.Thread(target=self._load, daemon=True)
                self._loader.start()
            while self._mask is None:
                late = self._finish_by is not None and time.monotonic() >= self._finish_by
                if late or len(self._lines) >= self.behind_lines:
                    return coarse_mask
                self._ready.wait(0.5)
            mask = coarse_mask if len(self._lines) >= self.behind_lines else self._mask
            load_error, self._load_error = self._load_error, ""
        if load_error:
            self._note(
                f"the detector could not be loaded ({load_error}): every line is masked coarsely"
            )
        return mask

    def _load(self) -> None:
        try:
            mask = self.load_mask()
            error = ""
        except Exception as failure:
            mask, error = coarse_mask, type(failure).__name__
        with self._ready:
            self._mask, self._load_error = mask, error
            self._ready.notify_all()

    def _note(self, text: str) -> None:
        self._write(2, f"{NOTE_PREFIX} {text}\n".encode())

    def _write(self, stream: int, data: bytes) -> None:
        """Queued for one write call with the lines after it, in order across the streams."""
        if self._output and (stream != self._output_stream or len(self._output) >= 65536):
            self._flush()
        self._output_stream = stream
        self._output += data

    def _flush(self) -> None:
        data, self._output = bytes(self._output), bytearray()
        fd = self.outputs.get(self._output_stream)
        view = memoryview(data)
        while view and fd is not None:
            try:
                view = view[os.write(fd, view) :]
            except BrokenPipeError:
                return  # nobody reads this stream any more


def redacted(command: Sequence[str], python: str = sys.executable) -> list[str]:
    """`command` run under the redacting runner (with the application's interpreter)."""
    return [python, "-m", MODULE, "--", *command]


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: PR_SET_PDEATHSIG (1), so a COMMAND whose runner
    # was killed does not live on with nobody reading its output.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _pipe() -> tuple[int, int]:
    read, write = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except OSError:
        pass  # the default size: enough while the readers keep up
    return read, write


def run(command: Sequence[str], redactor: Redactor) -> int:
    """Run `command` with its output through `redactor`; its exit status (-N: signal N)."""
    (out_r, out_w), (err_r, err_w) = _pipe(), _pipe()
    try:
        child = subprocess.Popen(
            list(command),
            stdout=out_w,
            stderr=err_w,
            process_group=0,
            preexec_fn=_die_with_parent,
        )
    finally:
        os.close(out_w)
        os.close(err_w)

    def forward(signum: int, frame: FrameType | None) -> None:
        if child.returncode is None:
            child.send_signal(signum)

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    # Serving comes first: loading the detector (seconds of CPU) must not slow COMMAND's start.
    # Linux: the threads started from here on inherit it; COMMAND runs at its own priority.
    os.nice(NICENESS)
    readers = [redactor.read(out_r, 1), redactor.read(err_r, 2)]
    writer = threading.Thread(target=redactor.write, daemon=True)
    writer.start()
    code = child.wait()
    for reader in readers:
        reader.join(DRAIN_TIMEOUT_S)
    redactor.finish()
    writer.join(DRAIN_TIMEOUT_S)
    return code


def _exit_as(code: int) -> None:
    """End this process the way the command ended."""
    if code < 0:
        if -code in FORWARDED_SIGNALS:
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code if code >= 0 else 128 - code)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--"]:
        arguments = arguments[1:]
    if not arguments:
        sys.exit(f"usage: python -m {MODULE} -- COMMAND [ARG...]")
    # Files the command creates (logs, databases) are its owner's only.
    os.umask(0o077)
    try:
        code = run(arguments, Redactor({1: sys.stdout.fileno(), 2: sys.stderr.fileno()}))
    except OSError as error:
        sys.exit(f"{NOTE_PREFIX} cannot start {arguments[0]}: {error.strerror}")
    _exit_as(code)


if __name__ == "__main__":
    main()
