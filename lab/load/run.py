"""Run both bots through the same load, one after the other, and write the report."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lab.load.bots import ProjectStack, RunningBot, StockBot, scaled_databases_and_environment
from lab.load.checks import Stored, count_stored
from lab.load.customers import Load, run_customers, run_long_conversation
from lab.load.profile import ACTION_STAGES, RASA_STAGES, Sampler, StageTimes, summarise
from lab.load.report import write_report
from supportbot.settings import PROJECT_ROOT

WORK_DIR = PROJECT_ROOT / "var" / "load"
REPORT = PROJECT_ROOT / "reports" / "load.md"

# Each customer's script. The stock bot's is the starter bot's own dialogue (greet, mood, bot
# challenge, goodbye); the project's covers verification, an order lookup, a policy question, an
# address change, and goodbye with the CSAT rating (a button payload) and a comment.
STOCK_SCRIPT = ["hi", "I am sad", "yes", "are you a bot?", "great, thanks", "bye"]
PROJECT_SCRIPT = [
    "hi",
    "where is my order?",
    "100001",
    "ada@example.com",
    "what is your return policy?",
    "can I change the delivery address?",
    "thanks, bye",
    '/inform{"csat_rating": "5"}',
    "quick and helpful, thanks",
]


@dataclass(frozen=True)
class Plan:
    """How much load: (customers, messages each) per level, the long conversation's turns."""

    levels: list[tuple[int, int]]
    long_turns: int
    profile: tuple[int, int]
    quick: bool

    @classmethod
    def full(cls) -> Plan:
        return cls([(1, 40), (10, 20), (50, 10)], 300, (10, 10), quick=False)

    @classmethod
    def quick_plan(cls) -> Plan:
        return cls([(1, 5), (3, 5)], 20, (3, 5), quick=True)


@dataclass
class BotResult:
    name: str
    startup_s: float
    loads: list[Load]
    long: Load
    stored: Stored
    rss_bytes: int  # after warm-up
    rss_peak_bytes: int
    profile: list[StageTimes] = field(default_factory=list)


class _PeakMemory:
    """Samples a bot's total RSS once a second until stopped."""

    def __init__(self, bot: RunningBot) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(bot,), daemon=True)
        self._thread.start()

    def _run(self, bot: RunningBot) -> None:
        while not self._stop.wait(1.0):
            self.peak = max(self.peak, bot.rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def settle(log: Callable[[str], None], limit_s: float = 90.0) -> float:
    """Wait (up to `limit_s`) for the 1-minute load average to fall below 1; return it."""
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] >= 1.0 and time.monotonic() < deadline:
        time.sleep(5)
    load = os.getloadavg()[0]
    log(f"  load average {load:.2f}")
    return load


def _profile(
    bot: RunningBot, script: list[str], plan: Plan, work_dir: Path, log: Callable[[str], None]
) -> list[StageTimes]:
    customers, messages = plan.profile
    targets = [("Rasa server", bot.rasa_pids, RASA_STAGES)]
    if bot.action_pids:
        targets.append(("action server", bot.action_pids, ACTION_STAGES))
    samplers = [
        (role, Sampler(pids[0], work_dir / "profiles" / f"{bot.name}-{role.split()[0]}.txt"), rules)
        for role, pids, rules in targets
        if pids
    ]
    time.sleep(1.0)  # py-spy attaches
    load = run_customers(
        bot.url,
        script,
        customers=customers,
        messages_each=messages,
        label="profile",
        log=log,
        session_secret=bot.session_secret,
    )
    count = len(load.turns)
    return [summarise(sampler.stop(), role, rules, count) for role, sampler, rules in samplers]


def measure(
    bot: RunningBot,
    script: list[str],
    plan: Plan,
    work_dir: Path,
    crm_url: str | None,
    log: Callable[[str], None],
) -> BotResult:
    log("  warming up (one conversation)")
    warm = run_customers(
        bot.url,
        script,
        customers=1,
        messages_each=len(script),
        label="warm-up",
        log=log,
        session_secret=bot.session_secret,
    )
    rss = bot.rss()
    memory = _PeakMemory(bot)
    loads = []
    for customers, messages in plan.levels:
        log(f"  {customers} customer(s), {messages} messages each")
        loads.append(
            run_customers(
                bot.url,
                script,
                customers=customers,
                messages_each=messages,
                label=f"{customers} customers",
                log=log,
                session_secret=bot.session_secret,
            )
        )
        log(f"    {loads[-1].throughput:.1f} msg/s, {len(loads[-1].errors())} errors")
    log(f"  one customer, {plan.long_turns} turns")
    long = run_long_conversation(
        bot.url, script, turns=plan.long_turns, log=log, session_secret=bot.session_secret
    )
    log("  profiling (py-spy)")
    profile = _profile(bot, script, plan, work_dir, log)
    peak = max(memory.stop(), rss)
    log("  counting what was answered and stored")
    stored = count_stored(bot, [warm, *loads, long], crm_url)
    return BotResult(bot.name, bot.startup_s, loads, long, stored, rss, peak, profile)


def run(*, quick: bool, scaled: bool, report: Path | None, log: Callable[[str], None]) -> Path:
    plan = Plan.quick_plan() if quick else Plan.full()
    work_dir = WORK_DIR / ("quick" if quick else "full")
    work_dir.mkdir(parents=True, exist_ok=True)
    stock = StockBot(WORK_DIR, quick=quick)
    stock.build(log)
    results: list[BotResult] = []
    loads_at_start: dict[str, float] = {}
    started = time.time()

    def measure_bot(name: str, starter: StockBot | ProjectStack, script: list[str]) -> None:
        log(f"== {name} bot")
        loads_at_start[name] = settle(log, 5.0 if quick else 90.0)
        bot = starter.start(work_dir, log)
        log(f"  answered {bot.startup_s:.1f} s after start, RSS {bot.rss() / 1e9:.2f} GB")
        crm_url = starter.crm_url if isinstance(starter, ProjectStack) else None
        try:
            results.append(measure(bot, script, plan, work_dir, crm_url, log))
        finally:
            bot.stop()

    measure_bot("stock", stock, STOCK_SCRIPT)
    measure_bot("project", ProjectStack(work_dir), PROJECT_SCRIPT)
    if scaled:
        with scaled_databases_and_environment() as env:
            measure_bot("scaled", ProjectStack(work_dir, name="scaled", env=env), PROJECT_SCRIPT)
    out = report or (work_dir / "load.md" if quick else REPORT)
    write_report(
        out,
        results,
        plan=plan,
        loads_at_start=loads_at_start,
        load_at_end=os.getloadavg()[0],
        started=started,
        scripts={"stock": STOCK_SCRIPT, "project": PROJECT_SCRIPT},
    )
    log(f"== Wrote {out}")
    return out
