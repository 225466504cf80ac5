"""Training, datasets, benchmarks and reports: `supportbot-lab`, never imported at run time.

Python 3.11, except `lab.nlu_bench.evaluate`, which runs inside Rasa's environment.
"""
