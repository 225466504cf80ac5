"""`supportbot-lab bench-load`: the whole bot under load, side by side with a stock Rasa bot.

Closed-loop customers (each sends its next message when the reply arrives) talk to Rasa's REST
channel of a stock `rasa init` bot and of the project's stack, one after the other, in one run:
concurrency 1, 10 and 50, one long conversation, start-up time and memory, a sampled profile of
where a turn's time goes, and a count of what was answered and stored (reports/load.md).
"""
