"""Trains the plate-text recogniser on synthetic plates: seeded, CPU only (``make train-plates``).

    python -m vigia.vision.plates.training.train [--seed 7] [--samples 72000] [--val 1500] [--epochs 20]

1. Draws ``--samples`` training and ``--val`` validation crops from :mod:`.synth` (sample indices
   ``0..samples-1`` and ``samples..samples+val-1`` of the seed, so the two never share a plate
   image), in one process per core, and turns them into network inputs (:func:`.model.prepare`).
2. Trains :class:`.model.PlateCRNN` with CTC loss (AdamW, one-cycle learning rate), with cheap
   per-batch jitter (shift, scale, contrast, noise) so epochs do not repeat images exactly.
   Progress is printed as one JSON line per epoch: loss and the validation split's exact-match
   rate (greedy decoding).
3. Scores the validation split with the pipeline's slot-constrained decoder
   (:func:`vigia.vision.plates.ctc.decode`), by format and clean/degraded, and writes the weights
   (``--out``, default the shipped ``plates/weights/crnn.pt``) with a JSON sidecar beside them:
   seed, steps, data configuration, figures with 95 % intervals, time, threads and machine load.

With ``--out`` elsewhere than the shipped file, the last lines compare the run's validation
figures with the shipped ones (``within_ci``: inside the shipped 95 % interval).

``--cache DIR`` keeps the generated arrays keyed by seed, sizes and the generator's source, so a
second run with the same data skips step 1 (the figures are the same either way).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from typing import Any

import numpy as np

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights", "crnn.pt")


def _chunk(args: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Samples ``start..stop-1`` of ``seed`` as (inputs uint8, labels, is-mercosul, is-degraded)."""
    import cv2

    from vigia.vision.plates.ctc import CLASSES
    from vigia.vision.plates.training import model, synth

    cv2.setNumThreads(1)
    seed, start, stop = args
    n = stop - start
    images = np.empty((n, model.INPUT_HEIGHT, model.INPUT_WIDTH), np.uint8)
    labels = np.empty((n, 7), np.int64)
    mercosul = np.empty(n, bool)
    degraded = np.empty(n, bool)
    for i in range(n):
        s = synth.sample(seed, start + i)
        images[i] = np.round((model.prepare(s.image) + 1.0) * 127.5).astype(np.uint8)
        labels[i] = [CLASSES.index(c) for c in s.key]
        mercosul[i] = s.format == "mercosul"
        degraded[i] = s.degraded
    return images, labels, mercosul, degraded


def generate(seed: int, start: int, count: int, workers: int, label: str) -> dict[str, np.ndarray]:
    """Samples ``start..start+count-1`` of ``seed``, in ``workers`` processes, with progress."""
    size = 500
    jobs = [(seed, a, min(start + count, a + size)) for a in range(start, start + count, size)]
    parts: list[tuple[np.ndarray, ...]] = []
    began = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        for done, part in enumerate(pool.map(_chunk, jobs), start=1):
            parts.append(part)
            if done % max(1, len(jobs) // 10) == 0 or done == len(jobs):
                _say({"stage": f"generate {label}", "samples": sum(len(p[0]) for p in parts), "of": count,
                      "seconds": round(time.perf_counter() - began, 1)})
    return {name: np.concatenate([p[i] for p in parts])
            for i, name in enumerate(("images", "labels", "mercosul", "degraded"))}


def _source_hash() -> str:
    from vigia.vision.plates import enhance, finder
    from vigia.vision.plates.training import model, synth

    text = "".join(inspect.getsource(m) for m in (synth, model, enhance, finder))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dataset(seed: int, start: int, count: int, workers: int, label: str, cache: str | None) -> dict[str, np.ndarray]:
    """:func:`generate`, through the ``cache`` directory when one is given."""
    path = os.path.join(cache, f"plates-{seed}-{start}-{count}-{_source_hash()}.npz") if cache else None
    if path and os.path.exists(path):
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    data = generate(seed, start, count, workers, label)
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.savez(path, **data)  # type: ignore[arg-type]
    return data


def _say(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def _jitter(batch: Any, generator: Any) -> Any:
    """Per-image shift/scale, contrast and noise on a (N, 1, H, W) batch in [-1, 1]."""
    import torch
    import torch.nn.functional as F

    n = batch.shape[0]
    scale = 1.0 + (torch.rand(n, generator=generator) - 0.5) * 0.16
    shift_x = (torch.rand(n, generator=generator) - 0.5) * 0.12
    shift_y = (torch.rand(n, generator=generator) - 0.5) * 0.16
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale * (1.0 + (torch.rand(n, generator=generator) - 0.5) * 0.1)
    theta[:, 0, 2] = shift_x
    theta[:, 1, 2] = shift_y
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    out = F.grid_sample(batch, grid, padding_mode="border", align_corners=False)
    contrast = 0.7 + 0.3 * torch.rand(n, 1, 1, 1, generator=generator)
    noise = torch.randn(batch.shape, generator=generator) * 0.08 * torch.rand(n, 1, 1, 1, generator=generator)
    return (out * contrast + noise).clamp(-1.0, 1.0)


def _as_inputs(images: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(images.astype(np.float32) / 127.5 - 1.0)[:, None]


def _greedy_exact(logits: Any, labels: np.ndarray) -> int:
    best = logits.argmax(dim=2).numpy()
    hits = 0
    for row, label in zip(best, labels, strict=True):
        out = [c for i, c in enumerate(row) if c != 0 and (i == 0 or c != row[i - 1])]
        hits += int(out == list(label))
    return hits


def evaluate(net: Any, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Exact-match rates of the slot-constrained decoder on ``data``, overall and by split."""
    import torch

    from vigia.vision.plates.ctc import CLASSES, decode

    net.eval()
    keys = ["".join(CLASSES[c] for c in row) for row in data["labels"]]
    hits = np.zeros(len(keys), bool)
    with torch.inference_mode():
        for a in range(0, len(keys), 256):
            probs = torch.softmax(net(_as_inputs(data["images"][a:a + 256])), dim=2).numpy().astype(np.float64)
            for j, p in enumerate(probs):
                reading = decode(p)
                hits[a + j] = reading is not None and reading.key == keys[a + j]
    figures: dict[str, Any] = {}
    for name, mask in (("all", np.ones(len(keys), bool)), ("clean", ~data["degraded"]), ("degraded", data["degraded"]),
                       ("mercosul", data["mercosul"]), ("old", ~data["mercosul"])):
        n, k = int(mask.sum()), int(hits[mask].sum())
        figures[name] = {"n": n, "exact": round(k / max(1, n), 4), "ci95": wilson(k, n)}
    return figures


def arguments() -> argparse.ArgumentParser:
    """The run's options; their defaults are the shipped weights' run (``crnn.json`` records it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--samples", type=int, default=72000, help="training crops to generate")
    parser.add_argument("--val", type=int, default=1500, help="validation crops (training side)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--cache", default=None, help="directory that keeps the generated arrays")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the machine's cores)")
    return parser


def train(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = arguments().parse_args(argv)

    import torch

    from vigia.vision.plates.training import model, synth

    cores = os.cpu_count() or 1
    threads = args.threads or cores
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    load_start = os.getloadavg()
    _say({"stage": "start", "seed": args.seed, "samples": args.samples, "val": args.val, "epochs": args.epochs,
          "threads": threads, "cores": cores, "loadavg": [round(x, 2) for x in load_start],
          "families": synth.training_families()})
    train_data = dataset(args.seed, 0, args.samples, cores, "train", args.cache)
    val_data = dataset(args.seed, args.samples, args.val, cores, "val", args.cache)
    generated = time.perf_counter() - started

    net = model.PlateCRNN()
    optimiser = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(args.samples / args.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
                                                   pct_start=0.15)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    generator = torch.Generator().manual_seed(args.seed)
    inputs = _as_inputs(train_data["images"])
    targets = torch.from_numpy(train_data["labels"])
    val_inputs = _as_inputs(val_data["images"])
    steps = 0
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(args.samples, generator=generator)
        total, began = 0.0, time.perf_counter()
        for a in range(0, args.samples, args.batch):
            idx = order[a:a + args.batch]
            x = _jitter(inputs[idx], generator)
            log_probs = net(x).log_softmax(2).permute(1, 0, 2)  # steps, N, classes
            n = x.shape[0]
            loss = ctc(log_probs, targets[idx], torch.full((n,), log_probs.shape[0], dtype=torch.long),
                       torch.full((n,), 7, dtype=torch.long))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            optimiser.step()
            schedule.step()
            steps += 1
            total += float(loss.detach()) * n
        net.eval()
        with torch.inference_mode():
            hits = sum(_greedy_exact(net(val_inputs[a:a + 512]), val_data["labels"][a:a + 512])
                       for a in range(0, args.val, 512))
        _say({"stage": "epoch", "epoch": epoch, "steps": steps, "loss": round(total / args.samples, 4),
              "val_exact_greedy": round(hits / max(1, args.val), 4),
              "seconds": round(time.perf_counter() - began, 1), "loadavg": round(os.getloadavg()[0], 2)})
    figures = evaluate(net, val_data)
    seconds = time.perf_counter() - started
    meta = {
        "seed": args.seed, "steps": steps, "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
        "samples": args.samples, "val": args.val, "data": asdict(synth.SynthConfig()),
        "families": synth.training_families(), "generator_source": _source_hash(),
        "input": [model.INPUT_HEIGHT, model.INPUT_WIDTH], "network": asdict(net.config),
        "parameters": sum(p.numel() for p in net.parameters()),
        "val_figures": figures, "seconds": round(seconds, 1), "generate_seconds": round(generated, 1),
        "threads": threads, "cores": cores, "loadavg_start": [round(x, 2) for x in load_start],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()], "torch": str(torch.__version__),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    model.save(args.out, net, meta)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as sidecar:
        json.dump(meta, sidecar, indent=2)
        sidecar.write("\n")
    shipped = os.path.splitext(DEFAULT_OUT)[0] + ".json"
    if os.path.abspath(args.out) != os.path.abspath(DEFAULT_OUT) and os.path.exists(shipped):
        with open(shipped) as f:
            before = json.load(f).get("val_figures", {})
        _say({"stage": "compare with the shipped weights", "figures": {
            name: {"exact": fig["exact"], "shipped": before[name]["exact"], "shipped_ci95": before[name]["ci95"],
                   "within_ci": before[name]["ci95"][0] <= fig["exact"] <= before[name]["ci95"][1]}
            for name, fig in figures.items() if name in before}})
    _say({"stage": "done", "out": args.out, "bytes": os.path.getsize(args.out), **{k: meta[k] for k in (
        "val_figures", "seconds", "generate_seconds", "steps", "loadavg_end")}})
    return meta


if __name__ == "__main__":
    train(sys.argv[1:])
