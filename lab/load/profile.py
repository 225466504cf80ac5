"""Where a turn's time goes: py-spy samples of the running Rasa and action server processes,
each stack put in one stage by the first frame, from the innermost out, that a rule names.

py-spy samples from outside the process, pausing it for a moment at each sample so that every
stack is whole; the profile runs in a phase of its own, apart from the timed ones. A stage's figure
is its CPU milliseconds per message: samples / rate / messages handled while sampling. Samples
parked in a wait that py-spy cannot tell from work (uvloop's C event loop, an idle thread pool,
Sanic's worker manager) are idle time and are left out.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLES_PER_S = 100

# (stage, pattern on one frame "function (path/file.py:line)"), tried innermost frame first.
IDLE = "idle"
_IDLE_LEAF = re.compile(
    r"^(serve|_run_server_forever) \(sanic/server/runners\.py"
    r"|^_worker \(concurrent/futures/thread\.py"
    r"|\(multiprocessing/connection\.py|^accept \(socket\.py"
    r"|^(wait|_wait_for_tstate_lock) \(threading\.py|^select \(selectors\.py"
)

RASA_STAGES: list[tuple[str, str]] = [
    ("action result schema check (jsonschema)", r"_validate_action_result|^\w+ \(jsonschema/"),
    ("tracker store: save", r"^(save|_additional_events|stream_events) .*tracker_store\.py"),
    ("tracker store: retrieve", r"tracker_store\.py"),
    (
        "tracker copies and replays",
        r"^(travel_back_in_time|copy|_reset|replay_events|"
        r"generate_all_prior_trackers|applied_events|past_states|init_copy) .*trackers\.py",
    ),
    ("NLU: MiniLM featurizer", r"minilm_featurizer\.py"),
    ("NLU: DIET", r"entity_extractor\.py|diet_classifier\.py"),
    ("NLU: intent classifier", r"sentence_classifier\.py"),
    ("NLU: ResponseSelector", r"response_selector\.py"),
    ("NLU: tokenizer and sparse featurizers", r"rasa/nlu/(tokenizers|featurizers)/"),
    ("NLU: other components", r"rasa/nlu/|assistant/nlu/"),
    ("policy: TED", r"ted_policy\.py"),
    ("policy: UnexpecTED", r"unexpected_intent_policy\.py"),
    ("policy: Rule", r"rule_policy\.py"),
    ("policy: Memoization", r"memoization\.py"),
    ("policy: Escalation", r"policies/escalation\.py"),
    (
        "policy ensemble and featurisation",
        r"rasa/core/(policies|featurizers)/|rasa/shared/core/domain",
    ),
    ("action server call (HTTP client)", r"rasa/utils/endpoints\.py|aiohttp/"),
    ("response templates (NLG)", r"rasa/core/nlg/"),
    ("tracker serialisation", r"^(current_state|as_dialogue|events_after_latest_restart) "),
    ("channel, server and event loop", r"sanic/|rasa/core/channels/|asyncio/|uvloop"),
    ("processor, actions and events (other Rasa Core)", r"rasa/core/|rasa/shared/|rasa/engine/"),
]

ACTION_STAGES: list[tuple[str, str]] = [
    ("sentiment model", r"supportbot/sentiment/|vader"),
    ("knowledge-base retrieval", r"supportbot/kb/"),
    ("CRM reads and writes (SQLAlchemy)", r"sqlalchemy/|supportbot/crm/|supportbot/store/"),
    ("actions' own code", r"\(actions/"),
    ("rasa-sdk (tracker parsing, dispatch, JSON)", r"rasa_sdk/"),
    ("server and event loop", r"sanic/|asyncio/|uvloop"),
]


@dataclass(frozen=True)
class StageTimes:
    """CPU milliseconds per message, by stage, for one process role."""

    role: str
    messages: int
    samples: int
    per_stage_ms: dict[str, float]
    per_action_ms: dict[str, float]  # the action server only: by actions/ module

    @property
    def total_ms(self) -> float:
        return sum(self.per_stage_ms.values())


def _frames(stack: str) -> list[str]:
    # py-spy's raw format: "process 123:\"cmd\";frame;frame ... N", outermost frame first.
    return [frame for frame in stack.split(";") if not frame.startswith("process ")]


def classify(stack: str, rules: Sequence[tuple[str, str]]) -> str:
    frames = _frames(stack)
    if frames and _IDLE_LEAF.search(frames[-1]):
        return IDLE
    for frame in reversed(frames):
        for stage, pattern in rules:
            # re caches compiled patterns: each rule is compiled once per process.
            if re.search(pattern, frame):
                return stage
    return "other (interpreter, libraries)"


# py-spy names a file by its path on sys.path: the project's actions are "actions/x.py".
_ACTION_MODULE = re.compile(r"\(actions/(\w+)\.py")


def summarise(raw: str, role: str, rules: Sequence[tuple[str, str]], messages: int) -> StageTimes:
    stages: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        stage = classify(stack, rules)
        if stage == IDLE:
            continue
        samples += count
        stages[stage] += count
        modules = [m.group(1) for f in _frames(stack) if (m := _ACTION_MODULE.search(f))]
        if modules:
            actions[modules[0]] += count
    per_message = 1000.0 / SAMPLES_PER_S / max(messages, 1)
    return StageTimes(
        role,
        messages,
        samples,
        {stage: n * per_message for stage, n in stages.most_common()},
        {module: n * per_message for module, n in actions.most_common()},
    )


class Sampler:
    """py-spy recording a process (and its workers) until stopped."""

    def __init__(self, pid: int, out: Path) -> None:
        self.out = out
        executable = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                executable,
                *("record", "--pid", str(pid), "--rate", str(SAMPLES_PER_S)),
                *("--format", "raw", "--output", str(out), "--subprocesses"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> str:
        """Stop sampling; the collapsed stacks py-spy wrote ("" if it could not sample)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, errors = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, errors = self.process.communicate()
        if not self.out.exists():
            raise RuntimeError(f"py-spy wrote no profile: {errors.decode()[-500:]}")
        return self.out.read_text()
