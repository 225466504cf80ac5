"""The load benchmark's arithmetic: stage attribution, nothing-lost counting, growth."""

from __future__ import annotations

from lab.load.checks import _missing
from lab.load.customers import Load, Turn
from lab.load.profile import ACTION_STAGES, RASA_STAGES, classify, summarise
from lab.load.report import long_growth

JSONSCHEMA = (
    'process 7:"rasa";handle_message (rasa/core/processor.py:169);'
    "run (rasa/core/actions/action.py:760);"
    "_validate_action_result (rasa/core/actions/action.py:704);"
    "iter_errors (jsonschema/validators.py:288)"
)
IDLE = (
    'process 7:"rasa";serve_application (rasa/core/run.py:268);serve (sanic/server/runners.py:155)'
)
TED_IN_TENSORFLOW = (
    "_predict_next_with_tracker (rasa/core/processor.py:1120);"
    "predict_action_probabilities (rasa/core/policies/ted_policy.py:609);"
    "quick_execute (tensorflow/python/eager/execute.py:52)"
)


def test_a_stack_counts_towards_its_innermost_named_stage():
    assert classify(JSONSCHEMA, RASA_STAGES) == "action result schema check (jsonschema)"
    # Library frames name no stage: the policy that called TensorFlow gets the time.
    assert classify(TED_IN_TENSORFLOW, RASA_STAGES) == "policy: TED"
    sdk = (
        "webhook (rasa_sdk/endpoint.py:137);run (actions/sentiment.py:73);do (sqlalchemy/orm.py:1)"
    )
    assert classify(sdk, ACTION_STAGES) == "CRM reads and writes (SQLAlchemy)"


def test_idle_samples_are_left_out_and_the_rest_is_per_message():
    raw = f"{JSONSCHEMA} 30\n{IDLE} 500\n{TED_IN_TENSORFLOW} 10\n"
    times = summarise(raw, "Rasa server", RASA_STAGES, messages=20)
    # 100 samples a second: 30 samples over 20 messages are 15 ms a message.
    assert times.samples == 40
    assert times.per_stage_ms == {
        "action result schema check (jsonschema)": 15.0,
        "policy: TED": 5.0,
    }


def test_each_action_module_gets_what_it_calls():
    raw = (
        "webhook (rasa_sdk/endpoint.py:137);run (actions/sentiment.py:73);"
        "analyse (supportbot/sentiment/head.py:9) 4\n"
        "webhook (rasa_sdk/endpoint.py:137);run (rasa_sdk/forms.py:1) 2\n"
    )
    times = summarise(raw, "action server", ACTION_STAGES, messages=2)
    assert times.per_action_ms == {"sentiment": 20.0}
    assert times.per_stage_ms["sentiment model"] == 20.0


def test_missing_messages_are_counted_in_order():
    assert _missing(["hi", "order", "bye"], ["hi", "order", "bye"]) == 0
    assert _missing(["hi", "order", "bye"], ["hi", "bye"]) == 1
    # Out of order counts as missing: the tracker must hold them as they were sent.
    assert _missing(["hi", "bye"], ["bye", "hi"]) == 1


def test_masked_messages_count_as_stored_and_withheld_ones_as_lost():
    sent = ["it's ada@example.com", "call 0123 456789 or ada@example.com", "order 100001"]
    masked = ["it's <EMAIL_ADDRESS>", "call <PHONE_NUMBER> or <EMAIL_ADDRESS>", "order 100001"]
    assert _missing(sent, masked) == 0
    assert _missing(sent, [masked[0], "<UNREDACTED_TEXT_WITHHELD>", masked[2]]) == 1
    # A placeholder stands for some text, not for a different message.
    assert _missing(["it's grace@example.com"], ["its <EMAIL_ADDRESS>"]) == 1


def test_long_conversation_growth_compares_early_and_late_turns():
    turns = [Turn("s", i, "m", 100.0 if i < 50 else 300.0, 1, None) for i in range(100)]
    early, late, growth = long_growth(Load(1, turns, 10.0))
    assert (early, late, growth) == (100.0, 300.0, 3.0)
