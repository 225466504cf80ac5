"""The review file and its merge into data/nlu: Rasa reads what we write, concurrent writers
(threads and processes) lose nothing, a merge never duplicates training data."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from supportbot.cli import main
from supportbot.console import training_data as td
from supportbot.console.conversations import InvalidInput
from supportbot.console.transcript import CustomerMessage
from supportbot.settings import PROJECT_ROOT, PrivacyRules, get_settings

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
_READ_WITH_RASA = """
import json, sys
from rasa.shared.nlu.training_data.loading import load_data
out = []
for path in sys.argv[1:]:
    data = load_data(path)
    out.append([
        {"text": m.get("text"), "intent": m.get("intent"), "metadata": m.get("metadata"),
         "entities": [{k: e[k] for k in ("start", "end", "value", "entity", "role") if k in e}
                      for e in m.get("entities") or []]}
        for m in data.training_examples
    ])
print(json.dumps(out))
"""


def read_with_rasa(*paths: Path) -> list[list[dict[str, Any]]]:
    """The training examples Rasa 3.6's own reader (and schema check) finds in each file."""
    if not RASA_PYTHON.exists():
        pytest.skip("needs the Rasa environment (.venv-rasa)")
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", _READ_WITH_RASA, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def add(
    path: Path,
    intent: str,
    example: str,
    agent: str = "Sam",
    sender: str = "conv-1",
    masked: tuple[str, ...] = PrivacyRules().stored_entities,
) -> Any:
    return td.add_example(
        path, intent, example, agent_id=7, agent_name=agent, sender_id=sender, masked=masked
    )


def test_rasa_reads_the_review_file_as_written(tmp_path: Path):
    review = tmp_path / "nlu_review.yml"
    order = {"entity": "order_id", "value": "100001", "start": 14, "end": 20}
    city = {"entity": "delivery_city", "value": "New York", "start": 31, "end": 34, "role": "to"}
    message = CustomerMessage("where's order 100001, going to NYC  now?", [order, city])
    example = td.example_from_conversation("where's order 100001, going to NYC now?", [message])
    assert example == (
        "where's order [100001](order_id), going to "
        '[NYC]{"entity": "delivery_city", "value": "New York", "role": "to"} now?'
    )
    add(review, "track_order", example, agent='Sam "the \\ agent" Lee: #1')
    odd = 'he said: "refund" # not a comment - {really} ünïcödé 🙂'
    add(review, "get_refund", td.example_from_conversation(odd, [CustomerMessage(odd, [])]))
    [examples] = read_with_rasa(review)
    assert examples[0]["text"] == "where's order 100001, going to NYC now?"
    assert examples[0]["intent"] == "track_order"
    assert examples[0]["entities"] == [
        {"start": 14, "end": 20, "value": "100001", "entity": "order_id"},
        {"start": 31, "end": 34, "value": "New York", "entity": "delivery_city", "role": "to"},
    ]
    assert examples[0]["metadata"]["intent"]["agent"] == 'Sam "the \\ agent" Lee: #1'
    assert examples[0]["metadata"]["intent"]["conversation"] == "conv-1"
    assert examples[1] == {
        "text": odd,
        "intent": "get_refund",
        "metadata": examples[1]["metadata"],
        "entities": [],
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "text: must not be empty"),
        ("x" * 1001, "text: at most 1000 characters"),
        ("see [this](order_id)", "text: contains Rasa entity markup"),
        ("bell \x07 rings", "text: contains characters"),
    ],
)
def test_texts_a_training_file_cannot_hold_are_refused(text: str, message: str):
    with pytest.raises(InvalidInput) as refused:
        td.example_from_conversation(text, [CustomerMessage(text, [])])
    assert str(refused.value).startswith(message)


def test_entities_whose_offsets_do_not_fit_are_left_out():
    wrong = {"entity": "order_id", "value": "100001", "start": 12, "end": 18}  # "r 1000"
    brackets = CustomerMessage("order 100001 [urgent]", [{**wrong, "start": 6, "end": 12}])
    assert td.example_from_conversation(
        "order 100001 x", [CustomerMessage("order 100001 x", [wrong])]
    ) == ("order 100001 x")
    # A bracket next to the markup would change what Rasa reads: no markup then.
    with pytest.raises(InvalidInput):
        td.example_from_conversation("order 100001 [urgent](x)", [brackets])
    assert td.example_from_conversation("order 100001 [urgent]", [brackets]) == (
        "order 100001 [urgent]"
    )


def test_duplicates_are_found_whatever_the_case_and_spacing(tmp_path: Path):
    review = tmp_path / "nlu_review.yml"
    assert add(review, "track_order", "Where is [100001](order_id)").added
    marked = add(review, "track_order", "where  is 100001")
    assert marked == td.Marked(added=False, examples=1)


def _add_many(path: str, worker: int) -> None:
    for n in range(5):
        # Nothing to mask: each process would load the detector for nothing.
        add(Path(path), "track_order", f"worker {worker} message {n}", f"conv-{worker}", masked=())


def test_concurrent_processes_lose_nothing(tmp_path: Path):
    review = tmp_path / "nlu_review.yml"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_many, args=(str(review), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    blocks = td.read_blocks(review)
    texts = sorted(e for b in blocks for e in b.examples)
    assert texts == sorted(f"worker {w} message {n}" for w in range(4) for n in range(5))
    assert not [p for p in review.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    review = tmp_path / "nlu_review.yml"
    add(review, "track_order", "first example")
    before = review.read_text(encoding="utf-8")

    def broken_replace(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(td.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        add(review, "track_order", "second example")
    assert review.read_text(encoding="utf-8") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nlu_review.yml", "nlu_review.yml.lock"]


def test_the_review_file_is_private_and_its_examples_masked(tmp_path: Path):
    review = tmp_path / "review" / "nlu_review.yml"
    review.parent.mkdir()
    review.write_text('version: "3.1"\nnlu: []\n')
    review.chmod(0o644)  # as older versions wrote it
    add(review, "get_refund", "refund to 4539 1488 0343 6467, mail jo@example.org, Jo Smith")
    assert [b.examples for b in td.read_blocks(review)] == [
        ["refund to <CREDIT_CARD>, mail <EMAIL_ADDRESS>, Jo Smith"]
    ]
    assert "4539" not in review.read_text() and "jo@example.org" not in review.read_text()
    assert review.stat().st_mode & 0o777 == 0o600
    assert review.with_name("nlu_review.yml.lock").stat().st_mode & 0o777 == 0o600


def test_a_review_file_with_other_content_is_not_rewritten(tmp_path: Path):
    review = tmp_path / "nlu_review.yml"
    review.write_text('version: "3.1"\nnlu:\n  - synonym: NYC\n    examples: |\n      - nyc\n')
    with pytest.raises(td.TrainingDataError, match="only intent blocks"):
        add(review, "track_order", "where is it")


# --- the merge command -------------------------------------------------------------------


@pytest.fixture
def nlu_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data/nlu of two files, and SUPPORTBOT_REVIEW_FILE pointing at a review file."""
    folder = tmp_path / "data" / "nlu"
    (folder / "bitext").mkdir(parents=True)
    (folder / "orders.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "  - intent: track_order\n    examples: |\n      - where is my parcel\n"
        "      - track [100001](order_id)\n"
        "  - synonym: UPS\n    examples: |\n      - ups\n",
        encoding="utf-8",
    )
    (folder / "bitext" / "orders.yml").write_text(
        'version: "3.1"\nnlu:\n  - intent: cancel_order\n    examples:\n      - text: cancel it\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SUPPORTBOT_REVIEW_FILE", str(tmp_path / "review" / "nlu_review.yml"))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


def test_merge_moves_new_examples_and_keeps_conflicts(
    nlu_dir: Path, capsys: pytest.CaptureFixture[str]
):
    review = get_settings().review_file
    add(review, "track_order", "Where is my  PARCEL")  # in orders.yml already
    add(review, "track_order", "track 100001")  # also there (as markup)
    add(review, "complaint", "cancel it")  # bitext/ has it as cancel_order
    add(review, "complaint", "my parcel never came")
    add(review, "greet", "hello there", sender="conv-2")
    add(review, "complaint", "it came [broken](damage)")
    into = nlu_dir / "reviewed.yml"

    assert main(["training-data", "merge", "--into", str(into)]) == 0
    out = capsys.readouterr().out
    assert f"Merged 3 reviewed examples into {into}; 2 were training data already" in out
    assert "'cancel it' is marked complaint but is an example of cancel_order" in out
    merged = td.read_blocks(into)
    assert [(b.intent, b.examples) for b in merged] == [
        ("complaint", ["my parcel never came", "it came [broken](damage)"]),
        ("greet", ["hello there"]),
    ]
    left = td.read_blocks(review)
    assert [(b.intent, b.examples) for b in left] == [("complaint", ["cancel it"])]
    assert left[0].metadata["agent"] == "Sam"  # who marked it is kept with it

    # Again: nothing new, nothing duplicated; new marks go to the same file.
    assert main(["training-data", "merge", "--into", str(into)]) == 0
    add(review, "greet", "good morning")
    assert main(["training-data", "merge", "--into", str(into)]) == 0
    assert [(b.intent, b.examples) for b in td.read_blocks(into)] == [
        ("complaint", ["my parcel never came", "it came [broken](damage)"]),
        ("greet", ["hello there", "good morning"]),
    ]
    assert [b.examples for b in td.read_blocks(review)] == [["cancel it"]]
    [reviewed, orders, review_examples] = read_with_rasa(into, nlu_dir / "orders.yml", review)
    assert [(e["intent"], e["text"]) for e in reviewed] == [
        ("complaint", "my parcel never came"),
        ("complaint", "it came broken"),
        ("greet", "hello there"),
        ("greet", "good morning"),
    ]
    assert reviewed[1]["entities"] == [
        {"start": 8, "end": 14, "value": "broken", "entity": "damage"}
    ]
    assert orders and [e["text"] for e in review_examples] == ["cancel it"]


def test_a_masked_example_stays_in_the_review_file_until_a_person_fills_it_in(
    nlu_dir: Path, capsys: pytest.CaptureFixture[str]
):
    review = get_settings().review_file
    add(review, "verify_identity", "it's jo@example.org")
    add(review, "greet", "hi there")
    into = nlu_dir / "reviewed.yml"

    assert main(["training-data", "merge", "--into", str(into)]) == 0
    out = capsys.readouterr().out
    assert "Merged 1 reviewed examples" in out
    assert '"it\'s <EMAIL_ADDRESS>" (verify_identity) has personal data masked' in out
    assert [(b.intent, b.examples) for b in td.read_blocks(into)] == [("greet", ["hi there"])]
    assert "<EMAIL_ADDRESS>" not in into.read_text()
    assert [b.examples for b in td.read_blocks(review)] == [["it's <EMAIL_ADDRESS>"]]
    # Training data is the project's own, readable as the rest of data/nlu.
    assert into.stat().st_mode & 0o777 == 0o644 and review.stat().st_mode & 0o777 == 0o600

    # A reviewer writes in a made-up address: now it merges.
    review.write_text(review.read_text().replace("<EMAIL_ADDRESS>", "sam@example.com"))
    assert main(["training-data", "merge", "--into", str(into)]) == 0
    assert ("verify_identity", ["it's sam@example.com"]) in [
        (b.intent, b.examples) for b in td.read_blocks(into)
    ]


def test_merge_of_an_empty_review_empties_nothing(nlu_dir: Path, capsys):
    into = nlu_dir / "reviewed.yml"
    assert main(["training-data", "merge", "--into", str(into)]) == 0
    assert "Merged 0 reviewed examples" in capsys.readouterr().out
    assert not into.exists() and not get_settings().review_file.exists()


def test_merge_refuses_a_target_it_would_damage(nlu_dir: Path, capsys):
    add(get_settings().review_file, "greet", "hello there")
    into = nlu_dir / "orders.yml"  # has a synonym: a rewrite would lose it
    before = into.read_text(encoding="utf-8")
    assert main(["training-data", "merge", "--into", str(into)]) == 1
    assert "only intent blocks are expected" in capsys.readouterr().err
    assert into.read_text(encoding="utf-8") == before
    assert td.read_blocks(get_settings().review_file)[0].examples == ["hello there"]


def test_the_review_file_setting():
    from supportbot.settings import Settings

    assert Settings.from_env({"SUPPORTBOT_DATA_DIR": "/srv/sb"}).review_file == Path(
        "/srv/sb/review/nlu_review.yml"
    )
    env = {"SUPPORTBOT_REVIEW_FILE": "/tmp/r.yml"}
    assert Settings.from_env(env).review_file == Path("/tmp/r.yml")
    assert yaml.safe_load(td.render([], td.REVIEW_HEADER)) == {"version": "3.1", "nlu": []}
