"""The escalation decision: its labelled snippets, training and benchmark against the old rule."""
