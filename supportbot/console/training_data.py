"""Training data from the console: customer messages agents mark with the intent they should
have had, collected in a review file, and merged into data/nlu once reviewed.

Customer text in the review file has the configured kinds of personal data masked
(`Settings.privacy.stored_entities`, as `<EMAIL_ADDRESS>`), and the file is its owner's only
(mode 600). A masked example is not merged: data/nlu would learn the placeholder as if a customer
had typed it, so it stays in the review file until a person writes in a made-up value.

Both files are Rasa 3.x NLU YAML (`version: "3.1"`, `nlu:` with `- intent:` / `examples: |`
blocks). The review file has a block per example whose `metadata` (which Rasa accepts and keeps)
says which agent marked it in which conversation. Writers hold an exclusive lock on a sidecar
lock file and replace the file atomically (temp file + os.replace), so concurrent marks are
never lost and a crash leaves the previous file whole.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from supportbot.console.conversations import InvalidInput
from supportbot.console.transcript import CustomerMessage
from supportbot.privacy.pii import get_pii_detector
from supportbot.settings import PII_ENTITIES, PROJECT_ROOT

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
NLU_VERSION = "3.1"
SOURCE = "agent-console"
MAX_TEXT_LENGTH = 1000
REVIEW_HEADER = (
    "# Customer messages agents marked in the console as examples of the intent they should\n"
    "# have had. Review them, then `supportbot training-data merge` moves them into data/nlu.\n"
)
MERGED_HEADER = (
    "# Examples agents corrected in the agent console, moved here by\n"
    "# `supportbot training-data merge` after review.\n"
)
# What a masked example holds in the place of personal data (supportbot.privacy.pii).
_MASKED = re.compile("<(?:" + "|".join(PII_ENTITIES) + ")>")
# The review file holds customer text; merged training data is the project's own.
REVIEW_FILE_MODE, TRAINING_DATA_MODE = 0o600, 0o644
# Rasa's entity annotation inside an example (rasa/shared/nlu/training_data/entities_parser.py):
# [text](entity), [text](entity:value), [text]{"entity": ...} or [text][{...}, ...].
_ENTITY_MARKUP = re.compile(
    r"\[(?P<entity_text>[^\]]+?)\](\((?P<entity>[^:)]+?)(?:\:(?P<value>[^)]+))?\)"
    r"|\{(?P<entity_dict>[^}]+?)\}|\[(?P<list_entity_dicts>.*?)\])"
)
_ENTITY_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_MARKUP_CHARACTERS = frozenset("[](){}")
# What PyYAML refuses to read, once whitespace (line breaks included) is collapsed.
_NOT_PRINTABLE = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class TrainingDataError(ValueError):
    """A training data file this module cannot safely read or rewrite."""


@lru_cache(maxsize=4)
def domain_intents(domain_file: Path = DOMAIN_FILE) -> tuple[str, ...]:
    """The intent names of the assistant's domain, sorted (the file is read once)."""
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    names = {i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents") or []}
    return tuple(sorted(names))


def collapse_whitespace(text: str) -> str:
    """One line: Rasa reads each line of an `examples: |` block as an example of its own."""
    return " ".join(text.split())


def plain_text(example: str) -> str:
    """The words of an example without its entity markup."""
    return _ENTITY_MARKUP.sub(lambda match: match.group("entity_text"), example)


def example_key(example: str) -> str:
    """When two examples are the same one (Rasa's featurizers ignore case and spacing)."""
    return collapse_whitespace(plain_text(example)).casefold()


@dataclass(frozen=True)
class Block:
    """One `- intent:` item of a Rasa NLU file."""

    intent: str
    examples: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)


def _annotated(message: CustomerMessage) -> str:
    """The customer's words with the entities NLU found marked up as Rasa reads them: an
    example without them would teach the model that those words are no entities."""
    text, parts, cursor = message.text, [], 0
    if "[" in text or "]" in text:  # a bracket next to our markup would change its meaning
        return collapse_whitespace(text)
    for entity in sorted(message.entities, key=lambda e: e.get("start") or 0):
        start, end, name = entity.get("start"), entity.get("end"), entity.get("entity")
        if not (isinstance(start, int) and isinstance(end, int)):
            continue
        if not (cursor <= start < end <= len(text)) or not isinstance(name, str):
            continue
        span, value, role = text[start:end], entity.get("value"), entity.get("role")
        if _MARKUP_CHARACTERS & set(span) or not _ENTITY_NAME.match(name):
            continue
        # Offsets that cut a word in two are not the entity NLU meant.
        if text[start - 1 : start].isalnum() or text[end : end + 1].isalnum():
            continue
        attributes = {"entity": name}
        if isinstance(value, str | int | float) and str(value) != span:
            attributes["value"] = str(value)
        if isinstance(role, str) and role:
            attributes["role"] = role
        if len(attributes) == 1:
            mark = f"[{span}]({name})"
        else:
            inner = json.dumps(attributes, ensure_ascii=False)[1:-1]
            if "}" in inner or "\n" in inner:
                continue
            mark = f"[{span}]{{{inner}}}"
        parts += [text[cursor:start], mark]
        cursor = end
    parts.append(text[cursor:])
    annotated = collapse_whitespace("".join(parts))
    # The markup must leave the customer's words as they were, or it is not used.
    plain = collapse_whitespace(text)
    return annotated if collapse_whitespace(plain_text(annotated)) == plain else plain


def example_from_conversation(text: str, messages: Sequence[CustomerMessage]) -> str:
    """The review-file example for `text`, which must be a message the customer typed."""
    wanted = collapse_whitespace(text)
    if not wanted:
        raise InvalidInput("text", "must not be empty")
    if len(wanted) > MAX_TEXT_LENGTH:
        raise InvalidInput("text", f"at most {MAX_TEXT_LENGTH} characters")
    message = next((m for m in messages if collapse_whitespace(m.text) == wanted), None)
    if message is None:
        raise InvalidInput("text", "not a message the customer typed in this conversation")
    if _ENTITY_MARKUP.search(wanted):
        raise InvalidInput("text", "contains Rasa entity markup ([...](...)); add it by hand")
    if _NOT_PRINTABLE.search(wanted):
        raise InvalidInput("text", "contains characters a training data file cannot hold")
    return _annotated(message)


def check_intent(intent: str, intents: Iterable[str]) -> str:
    if intent not in set(intents):
        raise InvalidInput("intent", f"{intent!r} is not an intent of the assistant's domain")
    return intent


# --- reading and writing the files -------------------------------------------------------


def _examples_of(value: Any, where: Path) -> list[str]:
    if isinstance(value, str):
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if any(not line.startswith("-") for line in lines):
            raise TrainingDataError(f"{where}: an example line does not start with '-'")
        return [line[1:].strip() for line in lines]
    if isinstance(value, list):
        texts = [item.get("text") if isinstance(item, dict) else None for item in value]
        if all(isinstance(t, str) for t in texts):
            return [str(t).strip() for t in texts]
    raise TrainingDataError(f"{where}: unexpected examples {value!r:.60}")


def read_blocks(path: Path) -> list[Block]:
    """The intent blocks of an NLU file this module writes (a missing file has none).

    Anything else in it (synonyms, regexes, stories) would be lost in a rewrite: refused."""
    if not path.exists():
        return []
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
    except yaml.YAMLError as error:
        raise TrainingDataError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict) or set(data) - {"version", "nlu"}:
        raise TrainingDataError(f"{path} holds more than `version` and `nlu`; merge it by hand")
    blocks = []
    for item in data.get("nlu") or []:
        if not isinstance(item, dict) or set(item) - {"intent", "examples", "metadata"}:
            raise TrainingDataError(f"{path}: only intent blocks are expected, got {item!r:.60}")
        metadata = item.get("metadata") or {}
        if not isinstance(item.get("intent"), str) or not isinstance(metadata, dict):
            raise TrainingDataError(f"{path}: a block has no intent name")
        blocks.append(Block(item["intent"], _examples_of(item.get("examples"), path), metadata))
    return blocks


def render(blocks: Sequence[Block], header: str) -> str:
    """Rasa NLU YAML for `blocks`; checked by reading it back before anyone writes it."""
    lines = [header.rstrip("\n"), f'version: "{NLU_VERSION}"', ""]
    kept = [block for block in blocks if block.examples]
    lines.append("nlu:" if kept else "nlu: []")
    for block in kept:
        lines.append(f"  - intent: {block.intent}")
        if block.metadata:
            lines.append("    metadata:")
            # JSON scalars are YAML scalars: quotes and escapes stay exact.
            lines += [
                f"      {key}: {json.dumps(value, ensure_ascii=False)}"
                for key, value in block.metadata.items()
            ]
        lines.append("    examples: |")
        lines += [f"      - {example}" for example in block.examples]
    text = "\n".join(lines) + "\n"
    parsed = yaml.load(text, Loader=yaml.CSafeLoader)
    expected = [
        {"intent": b.intent, **({"metadata": b.metadata} if b.metadata else {})} for b in kept
    ]
    got = [{k: v for k, v in item.items() if k != "examples"} for item in parsed["nlu"] or []]
    examples = [_examples_of(item["examples"], Path("<rendered>")) for item in parsed["nlu"] or []]
    if parsed.get("version") != NLU_VERSION or got != expected:
        raise TrainingDataError("the rendered training data does not read back the same")
    if examples != [block.examples for block in kept]:
        raise TrainingDataError("the rendered training data does not read back the same")
    return text


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive use of `path` among threads and processes (a lock on a sidecar file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_file = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(lock_file, "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _replace(path: Path, text: str, mode: int) -> None:
    """Write `text` to `path` atomically: readers see the old file or the new, never half.
    The file has `mode` from its first byte (mkstemp makes it 600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _count(blocks: Iterable[Block]) -> int:
    return sum(len(block.examples) for block in blocks)


# --- marking an example, merging the reviewed ones ---------------------------------------


@dataclass(frozen=True)
class Marked:
    added: bool  # False when the file already had this example for this intent
    examples: int  # examples in the review file now


def add_example(
    review_file: Path,
    intent: str,
    example: str,
    *,
    agent_id: int,
    agent_name: str,
    sender_id: str,
    masked: Iterable[str],
    now: datetime | None = None,
) -> Marked:
    """Add `example` for `intent` to the review file, once, with the `masked` kinds of personal
    data in it masked. When another agent marked the same words with another intent, the later
    correction wins (the file says who made it)."""
    masked = tuple(masked)
    if masked:  # none configured: the detector need not be loaded
        example = get_pii_detector().redact(example, masked)
    key = example_key(example)
    metadata = {
        "source": SOURCE,
        "agent_id": agent_id,
        "agent": agent_name,
        "conversation": sender_id,
        "marked_at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
    }
    with _locked(review_file):
        blocks = read_blocks(review_file)
        for block in blocks:
            if block.intent == intent and any(example_key(e) == key for e in block.examples):
                return Marked(added=False, examples=_count(blocks))
        blocks = [
            Block(b.intent, [e for e in b.examples if example_key(e) != key], b.metadata)
            for b in blocks
        ]
        blocks = [b for b in blocks if b.examples]
        blocks.append(Block(intent, [example], metadata))
        _replace(review_file, render(blocks, REVIEW_HEADER), REVIEW_FILE_MODE)
        return Marked(added=True, examples=_count(blocks))


def drop_conversations(review_file: Path, sender_ids: Iterable[str]) -> int:
    """Remove the examples marked in these conversations (their blocks' `conversation`) from the
    review file: the customer's words go with the conversation when it is erased. How many."""
    erased = set(sender_ids)
    if not erased or not review_file.exists():
        return 0
    with _locked(review_file):
        blocks = read_blocks(review_file)
        kept = [block for block in blocks if block.metadata.get("conversation") not in erased]
        if len(kept) == len(blocks):
            return 0
        _replace(review_file, render(kept, REVIEW_HEADER), REVIEW_FILE_MODE)
        return _count(blocks) - _count(kept)


def _known_examples(folder: Path, skip: Path) -> dict[str, set[str]]:
    """example key -> the intents it is an example of, over the NLU files in `folder`."""
    known: dict[str, set[str]] = {}
    files = sorted([*folder.rglob("*.yml"), *folder.rglob("*.yaml")]) if folder.is_dir() else []
    for path in files:
        if path.resolve() == skip.resolve() or path.name.startswith("."):
            continue
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        except yaml.YAMLError as error:
            raise TrainingDataError(f"{path} is not valid YAML: {error}") from None
        items = data.get("nlu") if isinstance(data, dict) else None
        for item in items or []:
            if isinstance(item, dict) and isinstance(item.get("intent"), str):
                for example in _examples_of(item.get("examples") or "", path):
                    known.setdefault(example_key(example), set()).add(item["intent"])
    return known


@dataclass(frozen=True)
class MergeReport:
    merged: int  # moved into the target file
    duplicates: int  # already training data for the same intent: dropped
    conflicts: list[tuple[str, str, list[str]]]  # (example, intent, intents in data/nlu): kept
    target: Path
    # (example, intent) with personal data masked in it: kept until a person fills it in.
    masked: list[tuple[str, str]] = field(default_factory=list)


def merge_reviewed(review_file: Path, into: Path) -> MergeReport:
    """Move the review file's examples into `into`, skipping those already among the NLU files
    of its folder. An example that folder has for another intent stays in the review file: a
    person decides which intent is right, as for a masked example (see the module's doc)."""
    with _locked(review_file):
        reviewed = read_blocks(review_file)
        target = read_blocks(into)
        known = _known_examples(into.parent, skip=into)
        grouped: dict[str, list[str]] = {}
        for block in target:
            for example in block.examples:
                grouped.setdefault(block.intent, []).append(example)
                known.setdefault(example_key(example), set()).add(block.intent)
        merged, duplicates = 0, 0
        conflicts: list[tuple[str, str, list[str]]] = []
        masked: list[tuple[str, str]] = []
        left: list[Block] = []
        for block in reviewed:
            for example in block.examples:
                intents = known.get(example_key(example), set())
                if _MASKED.search(example):
                    masked.append((example, block.intent))
                    left.append(Block(block.intent, [example], block.metadata))
                elif block.intent in intents:
                    duplicates += 1
                elif intents:
                    conflicts.append((example, block.intent, sorted(intents)))
                    left.append(Block(block.intent, [example], block.metadata))
                else:
                    grouped.setdefault(block.intent, []).append(example)
                    known[example_key(example)] = {block.intent}
                    merged += 1
        if merged:
            blocks = [Block(intent, examples) for intent, examples in grouped.items()]
            _replace(into, render(blocks, MERGED_HEADER), TRAINING_DATA_MODE)
        # The target is written first: a crash in between leaves examples in both files, and
        # the next merge drops them as duplicates; nothing is lost.
        if review_file.exists():
            _replace(review_file, render(left, REVIEW_HEADER), REVIEW_FILE_MODE)
    return MergeReport(merged, duplicates, conflicts, into, masked)
