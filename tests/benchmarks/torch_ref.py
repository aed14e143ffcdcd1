"""The PyTorch CPU reference: the engine's networks trained with the engine's loop shape.

Runs in its own process so that torch's OpenMP pool never shares a process with the engine's
OpenBLAS threads: the benchmark drives a ``--serve`` worker through :class:`TorchWorker`;
``python -m tests.benchmarks.torch_ref --threads 1`` alone prints one JSON object.

Per batch, as the engine does: index the uint8 training images by a slice of a shuffled
permutation, convert to float32 and divide by 255, forward, cross-entropy, backward, step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from typing import Any

import numpy as np


def _model(torch: Any, sizes: tuple[int, ...], activation: str) -> Any:
    act = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}[activation]
    layers: list[Any] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        if i:
            layers.append(act())
        layers.append(torch.nn.Linear(fan_in, fan_out))
    return torch.nn.Sequential(*layers)


def _optimizer(torch: Any, params: Any, config: Any) -> Any:
    if config.optimizer == "momentum":
        # The tutorial's v ← βv + (1−β)g is SGD with dampening = momentum (apart from
        # PyTorch starting the buffer at g instead of (1−β)g: same work per step).
        return torch.optim.SGD(params, lr=config.learning_rate, momentum=config.momentum,
                               dampening=config.momentum)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.learning_rate,
                                betas=(config.beta1, config.beta2), eps=config.eps)
    raise ValueError(f"no PyTorch counterpart set up for optimizer {config.optimizer}")


def train_epochs(torch: Any, preset_name: str, x: Any, y: Any, *, epochs: int,
                 warmup: int = 1) -> dict[str, Any]:
    """Seconds per epoch of the preset's network and optimizer (schedule applied per batch)."""
    from engine import PRESETS, lr_factor

    config = PRESETS[preset_name]
    torch.manual_seed(0)
    sizes = (x.shape[1], *config.hidden_sizes, 10)
    model = _model(torch, sizes, config.activation)
    opt = _optimizer(torch, model.parameters(), config)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    n, bs = x.shape[0], config.batch_size
    total = warmup + epochs
    seconds = []
    for epoch in range(total):
        perm = torch.randperm(n, generator=gen)
        start = time.perf_counter()
        for pos in range(0, n, bs):
            if config.schedule != "constant":
                lr = config.learning_rate * lr_factor(config.schedule, epoch + pos / n, total)
                for group in opt.param_groups:
                    group["lr"] = lr
            idx = perm[pos:pos + bs]
            xb = x[idx].to(torch.float32).div_(255.0)
            loss = loss_fn(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    measured = seconds[warmup:]
    return {"network": "-".join(map(str, sizes)), "median_s": statistics.median(measured),
            "min_s": min(measured), "epoch_seconds": [round(s, 4) for s in measured],
            "warmup_seconds": [round(s, 4) for s in seconds[:warmup]]}


def gemm_gflops(torch: Any, m: int = 128, k: int = 784, n: int = 64, trials: int = 5) -> float:
    """Median float32 GEMM rate of (m,k)@(k,n) through torch at its current thread count."""
    a, b = torch.rand(m, k), torch.rand(k, n)
    out = torch.empty(m, n)
    for _ in range(50):
        torch.mm(a, b, out=out)
    rates = []
    for _ in range(trials):
        reps, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < 0.1:
            for _ in range(20):
                torch.mm(a, b, out=out)
            reps += 20
        rates.append(2.0 * m * k * n * reps / elapsed / 1e9)
    return statistics.median(rates)


def serve(threads: str) -> int:
    """Worker mode: print a JSON line describing torch, then answer one JSON request per line
    of stdin (``{"preset": "seed", "epochs": 2, "warmup": 1}``) with one JSON line of timings.
    The benchmark keeps this process alive so its runs can alternate with the engine's and
    both see the same background load."""
    import torch

    from engine import load_dataset

    default_threads = torch.get_num_threads()
    if threads != "default":
        torch.set_num_threads(int(threads))
    data = load_dataset("mnist")
    x = torch.from_numpy(np.ascontiguousarray(data.x_train).copy())  # uint8, writable
    y = torch.from_numpy(data.y_train.astype(np.int64))
    info = {
        "torch": torch.__version__,
        "threads_requested": threads,
        "threads": torch.get_num_threads(),
        "default_threads": default_threads,
        "mkl": bool(torch.backends.mkl.is_available()),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "parallel_info": torch.__config__.parallel_info().strip().splitlines()[:6],
        "gemm_gflops": gemm_gflops(torch),
    }
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        result = train_epochs(torch, req["preset"], x, y, epochs=req["epochs"],
                              warmup=req.get("warmup", 0))
        print(json.dumps(result), flush=True)
    return 0


class TorchWorker:
    """The benchmark's handle on a ``serve`` process (this module run with ``--serve``)."""

    def __init__(self, threads: str, *, cwd: str | None = None) -> None:
        import subprocess
        import tempfile

        self._err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks.torch_ref", "--serve", "--threads", threads],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, text=True, cwd=cwd)
        self.info = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self._err.seek(0)
            tail = (self._err.read().strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"torch worker exited {self.proc.returncode}: {tail}")
        return json.loads(line)

    def train(self, preset: str, epochs: int, warmup: int = 0) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"preset": preset, "epochs": epochs,
                                          "warmup": warmup}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self._err.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.torch_ref")
    p.add_argument("--threads", default="default", help="'default' or a number of threads")
    p.add_argument("--serve", action="store_true", help="worker mode (JSON lines on stdin)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--presets", default="seed,default")
    args = p.parse_args(argv)
    if args.serve:
        return serve(args.threads)
    worker = TorchWorker(args.threads)
    result = dict(worker.info)
    result["presets"] = {name: worker.train(name, args.epochs, warmup=1)
                         for name in args.presets.split(",")}
    worker.close()
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
