"""Pre-training loop of the SoccerMaster encoder and its five heads, in the manner of nanoGPT's
train.py: the config at the top, the loop in plain sight, no framework.

    single process:  soccerfactory train --shards DIR --config tiny --steps 60 --out OUT
    several GPUs:    torchrun --nproc_per_node 8 -m pipelines.cli train --shards DIR ...

A checkpoint holds the model, the optimiser and the RNG states (safetensors), the scheduler and
the data position (JSON). With a map-style dataset the sample order is a function of (seed,
step) alone, so a resumed run repeats the very loss sequence of an uninterrupted one; with the
shard reader (an IterableDataset) the position is its set of consumed clips. OUT/metrics.jsonl holds
one line per step; OUT/checkpoint/ the latest checkpoint, written atomically.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file

from model.soccermaster import HEADS, SoccerMaster
from model.text_encoder import CaptionEmbeddings

# -- schedule and data order ------------------------------------------------------------------

def lr_multiplier(step: int, warmup: int, total: int, floor: float) -> float:
    """Linear warm-up over `warmup` steps, then cosine down to `floor` (a share of the peak)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))


class StepBatches(torch.utils.data.Sampler):
    """Batches of sample indices for steps start..stop-1: sample k of the run is entry
    k mod n of the permutation of epoch k // n (seeded by seed + epoch); each rank takes
    every world-th sample of the global batch."""

    def __init__(self, n: int, batch_size: int, seed: int, start: int, stop: int,
                 rank: int = 0, world: int = 1):
        if n == 0:
            raise ValueError("no training clips")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.start, self.stop, self.rank, self.world = start, stop, rank, world
        self._perms: dict[int, np.ndarray] = {}

    def _perm(self, epoch: int) -> np.ndarray:
        if epoch not in self._perms:
            self._perms = {epoch: np.random.default_rng(self.seed + epoch).permutation(self.n)}
        return self._perms[epoch]

    def indices(self, step: int) -> list[int]:
        size = self.batch_size * self.world
        pos = range(step * size, (step + 1) * size)
        return [int(self._perm(k // self.n)[k % self.n]) for k in pos][self.rank::self.world]

    def __iter__(self):
        for step in range(self.start, self.stop):
            yield self.indices(step)

    def __len__(self):
        return self.stop - self.start


def batches(dataset, collate, batch_size: int, seed: int, start: int, stop: int, rank: int,
            world: int, num_workers: int, pin_memory: bool, data_state: dict | None):
    """The batches of steps start..stop-1. A map-style dataset is read in StepBatches order
    (exact resume); an iterable one with the shard reader's protocol (model.data.ShardDataset:
    set_epoch, mark_consumed, state_dict / load_state_dict) epoch after epoch, resuming with
    the clips its checkpointed state has not consumed yet."""
    common = dict(collate_fn=collate, num_workers=num_workers, pin_memory=pin_memory)
    if not isinstance(dataset, torch.utils.data.IterableDataset):
        sampler = StepBatches(len(dataset), batch_size, seed, start, stop, rank, world)
        # its own generator: the global RNG stays the model's, whatever the loader draws
        yield from torch.utils.data.DataLoader(dataset, batch_sampler=sampler,
                                               generator=torch.Generator().manual_seed(seed),
                                               **common)
        return
    if data_state:
        dataset.load_state_dict(data_state)
    step, epoch = start, dataset.epoch
    while step < stop:
        dataset.set_epoch(epoch)
        loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, drop_last=True,
                                             **common)
        empty = True
        for batch in loader:
            dataset.mark_consumed(batch["clip_id"])
            empty = False
            yield batch
            step += 1
            if step == stop:
                return
        if empty and not data_state:
            raise ValueError(f"an epoch of the shard set gives no batch of {batch_size} clips")
        data_state = None
        epoch += 1


def shard_position(dataset, ddp: bool) -> dict | None:
    """The iterable reader's position (union over ranks); None for a map-style dataset, whose
    position is the step."""
    if not isinstance(dataset, torch.utils.data.IterableDataset):
        return None
    state = dataset.state_dict()
    if ddp:
        states = [None] * dist.get_world_size()
        dist.all_gather_object(states, state)
        state = dataset.merge_states(states)
    return state


# -- checkpoints --------------------------------------------------------------------------------

def _rng_state() -> tuple[dict, dict]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    np_state = np.random.get_state()
    meta = {"python": json.loads(json.dumps(random.getstate())),
            "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]]}
    return tensors, meta


def _set_rng_state(tensors: dict, meta: dict) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = [tensors[k] for k in sorted(k for k in tensors if k.startswith("rng.cuda."))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    py = meta["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = meta["numpy"]
    np.random.set_state((n[0], np.array(n[1], dtype=np.uint32), *n[2:]))


def save_checkpoint(out: Path, model, optimizer, scheduler, step: int, cfg: dict,
                    data_state: dict | None = None) -> None:
    """OUT/checkpoint/{model,optimizer,rng}.safetensors + state.json, replaced atomically."""
    tmp, final = out / "checkpoint.tmp", out / "checkpoint"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()},
              str(tmp / "model.safetensors"))
    opt = optimizer.state_dict()
    save_file({f"{i}.{k}": v.contiguous().cpu() for i, s in opt["state"].items()
               for k, v in s.items()}, str(tmp / "optimizer.safetensors"))
    rng_tensors, rng_meta = _rng_state()
    save_file({k: v.contiguous() for k, v in rng_tensors.items()}, str(tmp / "rng.safetensors"))
    state = {"step": step, "config": cfg, "param_groups": opt["param_groups"],
             "scheduler": scheduler.state_dict(), "rng": rng_meta, "data": data_state}
    (tmp / "state.json").write_text(json.dumps(state))
    old = out / "checkpoint.old"
    if final.exists():
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(out: Path, model, optimizer, scheduler, device) -> tuple[int, dict | None]:
    """Restore the latest checkpoint under OUT: (the step to continue from, the shard reader's
    position); (0, None) if there is none."""
    ckpt = out / "checkpoint"
    if not (ckpt / "state.json").is_file():
        ckpt = out / "checkpoint.old"  # a save was cut between its two renames
        if not (ckpt / "state.json").is_file():
            return 0, None
    state = json.loads((ckpt / "state.json").read_text())
    model.load_state_dict(load_file(str(ckpt / "model.safetensors"), device=str(device)))
    flat = load_file(str(ckpt / "optimizer.safetensors"))
    opt_state: dict[int, dict] = {}
    for key, value in flat.items():
        i, name = key.split(".", 1)
        opt_state.setdefault(int(i), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["param_groups"]})
    scheduler.load_state_dict(state["scheduler"])
    _set_rng_state(load_file(str(ckpt / "rng.safetensors")), state["rng"])
    return int(state["step"]), state.get("data")


# -- the loop -----------------------------------------------------------------------------------

def _to(batch: dict, device) -> dict:
    out = {}
    for k, v in batch.items():
        if isinstance(v, torch.Tensor):
            out[k] = v.to(device, non_blocking=True)
        elif isinstance(v, list) and v and isinstance(v[0], torch.Tensor):
            out[k] = [x.to(device, non_blocking=True) for x in v]
        else:
            out[k] = v
    return out


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    # nanoGPT's rule: decay matrices (linear and conv weights), not biases, norms, gates, embeddings
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            is_embedding = "pos_embed" in name or "time_embed" in name or "latent" in name
            (decay if p.ndim >= 2 and not is_embedding else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def describe(cfg: dict) -> dict[str, int]:
    """Per-part parameter counts of a config, built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        return SoccerMaster(cfg).parameter_counts()


def train(cfg: dict, dataset: torch.utils.data.Dataset, collate: Callable[[Sequence], dict],
          out: str | Path, steps: int, stop_after: int | None = None, num_workers: int = 0,
          progress: bool = True, evaluate: Callable[[SoccerMaster, CaptionEmbeddings], dict]
          | None = None) -> list[dict]:
    """Train for `steps` steps (continuing from OUT/checkpoint if there is one) and return the
    metrics of the steps run here. `stop_after` ends the process early, as a kill would, after
    checkpointing: the schedule still spans `steps`.

    `evaluate(model, captions) -> figures` (model.evaluate on held-out shards) runs on the
    first rank every train.eval_every steps (0: never) and after the last step of the
    schedule; each result is a line of OUT/eval.jsonl, the latest also OUT/eval.json. It
    leaves the RNG states as they were, so evaluating does not change the loss sequence."""
    tc = cfg["train"]
    out = Path(out)

    # distributed setup: torchrun sets RANK / WORLD_SIZE / LOCAL_RANK
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    ddp = world > 1
    if ddp:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    master = rank == 0
    if master:
        out.mkdir(parents=True, exist_ok=True)
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16)
                if device.type == "cuda" and tc["bf16"] else contextlib.nullcontext())

    # model, optimiser, schedule: same seed on every rank, so replicas start equal
    torch.manual_seed(tc["seed"])
    random.seed(tc["seed"])
    np.random.seed(tc["seed"])
    model = SoccerMaster(cfg).to(device)
    optimizer = torch.optim.AdamW(_param_groups(model, tc["weight_decay"]), lr=tc["lr"],
                                  betas=tuple(tc["betas"]), fused=device.type == "cuda")
    floor = tc["min_lr"] / tc["lr"]
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_multiplier(s, tc["warmup_steps"], steps, floor))
    start, data_state = load_checkpoint(out, model, optimizer, scheduler, device)
    captions = CaptionEmbeddings(cfg["text"]["encoder"], out / "caption_embeddings.safetensors")
    raw_model = model
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    stop = min(steps, stop_after) if stop_after is not None else steps
    loader = batches(dataset, collate, tc["batch_size"], tc["seed"], start, stop, rank, world,
                     num_workers, device.type == "cuda", data_state)

    metrics_path = out / "metrics.jsonl"
    if master and metrics_path.exists():  # drop lines of steps the checkpoint does not hold
        kept = [ln for ln in metrics_path.read_text().splitlines()
                if ln.strip() and json.loads(ln)["step"] < start]
        metrics_path.write_text("".join(ln + "\n" for ln in kept))
    eval_path = out / "eval.jsonl"
    if master and eval_path.exists():  # likewise evaluations after the checkpoint's step
        kept = [ln for ln in eval_path.read_text().splitlines()
                if ln.strip() and json.loads(ln)["step"] <= start]
        eval_path.write_text("".join(ln + "\n" for ln in kept))
    writer = None
    if master:
        try:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(out / "tensorboard"))
        except ImportError:
            pass
    bar = None
    if master and progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=stop, initial=start, desc="train", unit="step")
        except ImportError:
            pass

    history = []
    step = start
    model.train()
    t0 = time.perf_counter()
    for batch in loader:
        batch = _to(captions.attach(batch), device)  # caption embeddings: cached, outside the step
        with autocast:
            losses = model(batch)
        optimizer.zero_grad(set_to_none=True)
        losses["loss"].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), tc["grad_clip"])
        optimizer.step()
        lr = scheduler.get_last_lr()[0]
        scheduler.step()

        values = torch.stack([v.detach().float() for v in losses.values()])
        if ddp:
            dist.all_reduce(values, op=dist.ReduceOp.AVG)
        row = {"step": step, "lr": lr, "grad_norm": float(grad_norm)}
        row.update({k: float(v) for k, v in zip(losses.keys(), values.tolist())})
        row["time_s"] = round(time.perf_counter() - t0, 4)
        t0 = time.perf_counter()
        history.append(row)
        step += 1
        if master:
            with open(metrics_path, "a") as f:
                f.write(json.dumps(row) + "\n")
            if writer is not None:
                for k, v in row.items():
                    if k != "step":
                        writer.add_scalar(k, v, row["step"])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{row['loss']:.3f}")
        every = tc.get("eval_every", 0)
        if evaluate is not None and (step == steps or (every and step % every == 0)):
            if master:
                figures = {"step": step, **evaluate(raw_model, captions)}
                with open(out / "eval.jsonl", "a") as f:
                    f.write(json.dumps(figures) + "\n")
                (out / "eval.json").write_text(json.dumps(figures, indent=1) + "\n")
            if ddp:
                dist.barrier()
        if step == stop or step % tc["checkpoint_every"] == 0:
            data_state = shard_position(dataset, ddp)
            if master:
                save_checkpoint(out, raw_model, optimizer, scheduler, step, cfg, data_state)
                captions.save()
            if ddp:
                dist.barrier()

    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()
    if ddp:
        dist.destroy_process_group()
    return history


def loss_keys() -> list[str]:
    return [f"loss/{h}" for h in HEADS]
