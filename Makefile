# supportbot: `make run` starts everything, `make test` proves it. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON310 ?=
PYTHON311 ?=
VENV := .venv
RASA_VENV := .venv-rasa
RESULTS := var/results
MODEL_DIR := models
ENCODER := var/encoder/model.onnx
SENTIMENT := var/sentiment/head.json
ESCALATION := var/escalation/model.json
VENDOR := supportbot/web/static/vendor/.built
# The packages by runtime: Rasa's (Python 3.10), the application's and the lab's (3.11).
PY_SOURCES := common assistant supportbot actions lab tests

export RASA_TELEMETRY_ENABLED := false
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

# Rasa reads its endpoints (action server, tracker and lock store) from the environment.
RASA := env $$($(VENV)/bin/supportbot env) $(RASA_VENV)/bin/rasa

.PHONY: help setup run db train test test-fast lint lint-python lint-js types types-app types-lab types-assistant \
	audit validate test-stories test-nlu pytest test-assistant bench-retrieval bench-sentiment bench-escalation \
	bench-nlu bench-load bench-privacy bench-insights clean

help:
	@echo "make run        set up, seed the demo CRM, train if needed, start everything"
	@echo "make test       every stage below in order, each timed"
	@echo "make test-fast  unit tests only (no training, no running stack), about a minute"
	@echo "stages: setup | lint | audit | types | validate | test-assistant | train | test-stories | test-nlu | pytest"
	@echo "make db | clean"
	@echo "make bench-retrieval   knowledge-base retrieval benchmark -> reports/retrieval.md"
	@echo "make bench-sentiment   sentiment model vs VADER on TweetEval + airline tweets -> reports/sentiment.md"
	@echo "make bench-escalation  learned escalation decision vs the old rule -> reports/escalation.md"
	@echo "make bench-load        the whole bot under load vs a stock rasa init bot -> reports/load.md"
	@echo "make bench-privacy     PII detection vs stock Presidio on data/privacy -> reports/privacy.md"
	@echo "make bench-insights    purchase models vs BG/NBD on CDNOW -> reports/insights.md"
	@echo "                       (BENCH_INSIGHTS_ARGS='--quick' for a smoke run)"
	@echo "                       (BENCH_LOAD_ARGS='--quick' for a smoke run)"
	@echo "make bench-nlu         stock Rasa pipeline vs the project's on public NLU sets -> reports/nlu.md"
	@echo "                       (resumable; BENCH_NLU_ARGS='--quick' or '--dataset braun', see README)"

setup: $(VENV)/.installed $(RASA_VENV)/.installed $(ENCODER) $(SENTIMENT) $(ESCALATION) $(VENDOR)

# Front-end libraries from the npm registry, pinned by package-lock.json (never a CDN).
$(VENDOR): package.json package-lock.json scripts/build-assets
	scripts/build-assets
	@touch $@

$(VENV)/.installed: pyproject.toml constraints/app.txt
	@echo "== Setting up $(VENV) (Python 3.11: the application, the lab, tests)"
	@py=$$(scripts/find-python 3.11 "$(PYTHON311)") && [ -x $(VENV)/bin/python ] || $$py -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints/app.txt -e '.[app,lab,dev]'
	@touch $@

$(RASA_VENV)/.installed: pyproject.toml constraints/rasa.txt
	@echo "== Setting up $(RASA_VENV) (Python 3.10: Rasa 3.6.21); the first time takes a few minutes"
	@py=$$(scripts/find-python 3.10 "$(PYTHON310)") && [ -x $(RASA_VENV)/bin/python ] || $$py -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --quiet --upgrade pip
	$(RASA_VENV)/bin/pip install --quiet -c constraints/rasa.txt -e '.[rasa,rasa-dev]'
	@touch $@

# The offline MiniLM encoder, exported to ONNX once for the Rasa pipeline (no torch there).
$(ENCODER): $(VENV)/.installed lab/export_encoder.py
	$(VENV)/bin/python -m lab.export_encoder --out $(dir $@)

# The sentiment head: logistic regression on the encoder's vectors, from data/sentiment/ (~30 s).
$(SENTIMENT): $(ENCODER) lab/sentiment/train.py supportbot/sentiment/features.py $(wildcard data/sentiment/*.tsv)
	$(VENV)/bin/python -m lab.sentiment.train --out $(dir $@)

# The escalation decision: logistic regression on conversation features, from
# data/escalation/train.jsonl, scored by the sentiment head (a few seconds).
$(ESCALATION): $(SENTIMENT) lab/escalation/train.py lab/escalation/snippets.py supportbot/escalation.py data/escalation/train.jsonl
	$(VENV)/bin/python -m lab.escalation.train --out $(dir $@)

db: setup
	$(VENV)/bin/supportbot db migrate
	$(VENV)/bin/supportbot db seed
	$(VENV)/bin/supportbot insights run --if-missing

# Make retrains only when an input is newer than the model, so later stages and `make run` do
# not pay Rasa's own fingerprint check (about 25 s); Rasa still skips what did not change.
MODEL := $(MODEL_DIR)/supportbot.tar.gz
# The components training runs (not the server, channel or tracker store around them).
TRAIN_INPUTS := config.yml domain.yml $(shell find data -name '*.yml') \
	$(shell find assistant/nlu assistant/policies common -name '*.py') $(ENCODER)

train: $(MODEL)

$(MODEL): $(TRAIN_INPUTS) | setup
	@echo "== Training (skipped by Rasa when data and config are unchanged)"
	@mkdir -p $(RESULTS)
	@start=$$(date +%s); $(RASA) train --out $(MODEL_DIR) --fixed-model-name supportbot \
	  2>&1 | tee $(RESULTS)/train.log; echo "== Training step took $$(( $$(date +%s) - start )) s"
	@# Training must print no warning about the data (lab/rasa_warnings.py says which are known).
	$(VENV)/bin/python -m lab.rasa_warnings $(RESULTS)/train.log
	@touch $@

run: setup db $(MODEL)
	$(VENV)/bin/supportbot run

# Each stage prints its time; the summary at the end lists them all (scripts/stages).
test:
	@scripts/stages setup lint audit types validate test-assistant train test-stories test-nlu pytest

# Unit tests: no trained model, no running stack, no benchmark.
test-fast: setup
	$(VENV)/bin/pytest -q -m "not integration and not browser and not bench"

# Lint and types need only the environments (the Python ones; npm's for eslint).
lint: lint-python lint-js

lint-python: $(VENV)/.installed
	$(VENV)/bin/ruff check $(PY_SOURCES)
	$(VENV)/bin/ruff format --check $(PY_SOURCES)
	$(VENV)/bin/lint-imports

lint-js: $(VENDOR)
	npm run --silent lint

types: types-app types-lab types-assistant

# Every pinned dependency (both environments, the front end) against published advisories;
# constraints/audit-allowlist.toml holds the reviewed exceptions (lab/supply_chain.py).
audit: $(VENV)/.installed
	$(VENV)/bin/supportbot-lab audit $(AUDIT_ARGS)

types-app: $(VENV)/.installed
	$(VENV)/bin/mypy -p common -p supportbot -p actions

types-lab: $(VENV)/.installed
	$(VENV)/bin/mypy -p lab

types-assistant: $(RASA_VENV)/.installed
	$(RASA_VENV)/bin/mypy --python-version 3.10 -p assistant -p common

validate: setup
	@mkdir -p $(RESULTS)
	$(RASA) data validate 2>&1 | tee $(RESULTS)/validate.log
	$(VENV)/bin/python -m lab.rasa_warnings $(RESULTS)/validate.log

test-stories: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out $(RESULTS)/stories
	@echo "== All $$(grep -c '^  - story:' tests/test_stories.yml) test stories passed"

# Parsed by the trained model, scored with the NLU benchmark's metrics (lab/nlu_report.py).
# tests/nlu/bitext_test.yml is Bitext's test split, committed (CDLA-Sharing-1.0, see NOTICE).
test-nlu: $(MODEL)
	@mkdir -p $(RESULTS)
	$(RASA_VENV)/bin/python -m lab.nlu_bench.evaluate --model $(MODEL) \
	  --nlu tests/nlu/heldout.yml --output $(RESULTS)/nlu-heldout.json \
	  --nlu tests/nlu/heldout_blind.yml --output $(RESULTS)/nlu-heldout-blind.json \
	  --nlu tests/nlu/bitext_test.yml --output $(RESULTS)/nlu-bitext-test.json
	$(VENV)/bin/supportbot-lab nlu-report $(RESULTS)/nlu-heldout.json \
	  $(RESULTS)/nlu-heldout-blind.json $(RESULTS)/nlu-bitext-test.json

pytest: setup $(MODEL)
	scripts/ensure-chromium
	SUPPORTBOT_MODEL=$(MODEL) $(VENV)/bin/pytest -q --durations=15

# The project's Rasa components, in Rasa's environment.
test-assistant: setup
	$(RASA_VENV)/bin/python -m pytest -q -c tests/assistant/pytest.ini tests/assistant

# Knowledge-base retrieval: MiniLM vs TF-IDF on data/kb/eval, latency and faiss at scale.
bench-retrieval: setup
	$(VENV)/bin/supportbot-lab bench-retrieval

# The sentiment model vs VADER on TweetEval and the airline tweets, latency, targets.
bench-sentiment: setup
	$(VENV)/bin/supportbot-lab bench-sentiment

# The escalation decision vs the old rule on the untouched test part of data/escalation.
bench-escalation: setup
	$(VENV)/bin/supportbot-lab bench-escalation

# PII detection (supportbot.privacy.pii) vs stock Presidio on the labelled set, latency, targets
# (about a minute). Rewrites only the Detection section of reports/privacy.md.
bench-privacy: setup
	$(VENV)/bin/supportbot-lab bench-privacy

# The CRM's purchase models vs BG/NBD and SOURCE.md's reference points on CDNOW, with
# calibration and lift charts in reports/insights/; then the whole insights job on the seeded
# demo CRM -> reports/insights-demo.md (about two minutes in all).
bench-insights: setup
	$(VENV)/bin/supportbot-lab bench-insights $(BENCH_INSIGHTS_ARGS)

# Stock Rasa pipeline vs config.yml's NLU pipeline on the public datasets; each cell is cached in
# reports/nlu/cells, so an interrupted run resumes where it stopped. Hours in full (README).
bench-nlu: setup
	$(VENV)/bin/supportbot-lab bench-nlu $(BENCH_NLU_ARGS)

# Both bots under the same closed-loop load, one after the other (about 15 minutes; the stock
# bot is trained once and cached under var/load). Quiet machine wanted: the report shows the load.
bench-load: setup $(MODEL)
	$(VENV)/bin/supportbot-lab bench-load $(BENCH_LOAD_ARGS)

clean:
	rm -rf var/results var/eval .pytest_cache .mypy_cache .ruff_cache
