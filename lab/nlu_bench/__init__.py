"""`supportbot-lab bench-nlu`: the stock Rasa 3.6 pipeline vs the project's on public NLU datasets.

Modules: `datasets` (loaders + Rasa YAML), `pipelines` (the two configs), `metrics`, `cells`
(one resumable train/test job per dataset and pipeline), `report` (reports/nlu.md, SVG plots),
`evaluate` (runs inside .venv-rasa only), `run` (the command).
"""
