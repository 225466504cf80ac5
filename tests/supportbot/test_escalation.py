"""The escalation rule: when sentiment hands a conversation to a person, and the reason given."""

from supportbot.escalation import escalation_reason


def test_one_intensely_negative_message_escalates():
    reason = escalation_reason([0.1, -0.98], intensity=-0.82)
    assert reason is not None and "very negative" in reason and "-0.82" in reason
    # Sure but mild ("I am disappointed with the delay") is not enough on its own.
    assert escalation_reason([-0.99], intensity=-0.66) is None


def test_two_negative_messages_escalate():
    assert escalation_reason([-0.6]) is None
    reason = escalation_reason([-0.6, 0.2, -0.55])
    assert reason is not None and "2 negative messages" in reason


def test_high_value_customers_are_escalated_sooner():
    assert escalation_reason([-0.6], tier="silver") is None
    reason = escalation_reason([-0.6], tier="gold")
    assert reason is not None and "gold-tier" in reason
    assert escalation_reason([-0.6], tier="platinum") is not None


def test_a_customer_who_calmed_down_is_not_escalated():
    assert escalation_reason([-0.7, -0.7, 0.3]) is None
    assert escalation_reason([-0.9, -0.4], tier="platinum", intensity=-0.9) is None
    assert escalation_reason([]) is None
