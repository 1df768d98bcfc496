#!/usr/bin/python3
"""The convolutional training steps of psgd side by side with PyTorch's on this machine.

Runs build/release/psgd_models_bench (the cnn and lenet training steps and the reference GEMM,
5 repetitions, medians) and, where python3-torch is installed, the same networks' SGD step in
PyTorch on one thread (forward, mean cross-entropy, backward, plain SGD update, on random data
of the same shape), then prints per model and batch size: psgd's and PyTorch's samples per CPU
second, their ratio, and psgd's GFLOP/s as a fraction of the reference GEMM's in the same run
(the GEMM bound). Pin it to one core for comparable numbers: `taskset -c 1 bench/torch_step.py`
(what `make bench-torch` does). Without python3-torch (`make torch-deps` installs it) it says so
and prints the psgd side only.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = [  # (benchmark name in model_bench.cpp, model, input shape C x H x W, batch)
    ("training_step/cnn/128", "cnn", (1, 28, 28), 128),
    ("training_step/cnn/32", "cnn", (1, 28, 28), 32),
    ("training_step/lenet/128", "lenet", (1, 28, 28), 128),
    ("training_step/lenet/32", "lenet", (1, 28, 28), 32),
    ("training_step_on/lenet_32x32x3/128", "lenet", (3, 32, 32), 128),
    ("training_step_on/lenet_32x32x3/32", "lenet", (3, 32, 32), 32),
]
CLASSES = 10
STEP = 0.01


def run_psgd(binary, repetitions):
    """Medians of the psgd benchmarks, by name: samples/s and GFLOP/s (per CPU second)."""
    out = subprocess.run(
        [binary, "--benchmark_filter=cnn|lenet|ReferenceGemm",
         f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true",
         "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") == "median":
            medians[b["run_name"]] = b
    return medians


def torch_model(torch, name, shape):
    """The psgd model of that name in PyTorch (models/cnn.hpp, models/lenet.hpp)."""
    nn = torch.nn
    c, h, w = shape
    if name == "cnn":
        convs = [(c, 4, 3, 0), (4, 8, 3, 0)]
        dense = [128]
    else:
        pad = 2 if h < 32 or w < 32 else 0
        convs = [(c, 6, 5, pad), (6, 16, 5, 0)]
        dense = [120, 84]
    layers = []
    for cin, cout, k, p in convs:
        layers += [nn.Conv2d(cin, cout, k, padding=p), nn.ReLU(), nn.MaxPool2d(2)]
        h, w = (h + 2 * p - k + 1) // 2, (w + 2 * p - k + 1) // 2
    width = convs[-1][1] * h * w
    layers.append(nn.Flatten())
    for d in dense:
        layers += [nn.Linear(width, d), nn.ReLU()]
        width = d
    layers.append(nn.Linear(width, CLASSES))
    return nn.Sequential(*layers)


def torch_rate(torch, name, shape, batch, repetitions, seconds):
    """Median over repetitions of samples per CPU second of the PyTorch SGD step."""
    model = torch_model(torch, name, shape)
    optimizer = torch.optim.SGD(model.parameters(), lr=STEP)
    x = torch.rand(batch, *shape)
    y = torch.randint(0, CLASSES, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    for _ in range(20):  # warm-up
        step()
    rates = []
    for _ in range(repetitions):
        steps = 0
        start = time.process_time()
        while time.process_time() - start < seconds:
            step()
            steps += 1
        rates.append(steps * batch / (time.process_time() - start))
    return statistics.median(rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="build/release/psgd_models_bench")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.5, help="CPU time per repetition")
    args = parser.parse_args()
    # Debian's torch calls whatever libblas.so.3 the alternatives system points at (OpenBLAS once
    # libopenblas0-pthread is installed, as `make torch-deps` does; the reference BLAS otherwise,
    # ~1.7x slower here), and OpenBLAS starts its own threads unless told not to.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch  # pylint: disable=import-outside-toplevel
        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
        torch.manual_seed(1)
    except ImportError:
        torch = None
        print("python3-torch is not installed (make torch-deps installs it): PyTorch side skipped")
    psgd = run_psgd(args.bench, args.repetitions)
    gemm = psgd["BM_ReferenceGemm/512"]["gflops"]
    print(f"reference GEMM (Eigen, 512, one thread): {gemm:.1f} GFLOP/s")
    if torch is not None:
        blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
        capability = [line.strip() for line in torch.__config__.show().splitlines()
                      if "CPU capability" in line]
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread, BLAS {blas}, "
              + ", ".join(capability))
    print(f"{'model':<10}{'input':<9}{'batch':>6}{'psgd/s':>10}{'torch/s':>10}{'ratio':>7}"
          f"{'GFLOP/s':>9}{'of GEMM':>9}")
    for bench, name, shape, batch in CASES:
        p = psgd[bench]
        rate = p["samples_per_second"]
        t = torch_rate(torch, name, shape, batch, args.repetitions, args.seconds) if torch else None
        shape_text = "x".join(str(v) for v in (shape[1], shape[2], shape[0]))
        print(f"{name:<10}{shape_text:<9}{batch:>6}{rate / 1e3:>9.1f}k"
              + (f"{t / 1e3:>9.1f}k{rate / t:>7.2f}" if t else f"{'-':>10}{'-':>7}")
              + f"{p['gflops']:>9.1f}{100 * p['gflops'] / gemm:>8.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
