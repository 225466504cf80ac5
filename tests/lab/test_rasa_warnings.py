"""Only warnings explained by the code and the domain may pass `make validate` and training."""

from __future__ import annotations

from lab.rasa_warnings import main, unexplained

UNUSED = "is not used in any story or rule."


def test_responses_said_by_actions_or_forms_and_slot_filling_intents_pass():
    known = [
        f"The utterance 'utter_kb_no_answer' {UNUSED}",  # said by action_answer_question
        f"The utterance 'utter_ask_email' {UNUSED}",  # asked by the verification forms
        f"The utterance 'utter_ask_erase_data_form_order_id' {UNUSED}",
        f"The intent 'inform' {UNUSED}",  # sent by the rating buttons
        "Slot auto-fill has been removed in 3.0 and replaced with a new explicit mechanism.",
    ]
    assert unexplained(known) == []


def test_data_problems_and_responses_nothing_says_fail(tmp_path, capsys):
    problems = [
        "Misaligned entity annotation in message 'I paid $350' with intent 'get_refund'.",
        "Found conflicting synonym definitions for 'gold'. Overwriting target 'gold' with 'Gold'.",
        "The utterance 'utter_nobody_says_this' is not used in any story or rule.",
        "The intent 'get_refund_typo' is not used in any story or rule.",
    ]
    assert unexplained(problems) == problems
    log = tmp_path / "train.log"
    log.write_text("".join(f"io.py:100: UserWarning: {p}\n" for p in problems[:1]))
    assert main([str(log)]) == 1
    assert "Misaligned entity annotation" in capsys.readouterr().err
    log.write_text(
        "io.py:100: UserWarning: The intent 'inform' is not used in any story or rule.\n"
    )
    assert main([str(log)]) == 0
