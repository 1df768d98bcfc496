#!/usr/bin/python3
"""The training steps of psgd side by side with PyTorch's on this machine.

Runs build/release/psgd_models_bench (the mlp, cnn and lenet training steps and the reference
GEMMs: Eigen's and, where installed, OpenBLAS's sgemm) and, where python3-torch is installed, the
same networks' SGD step in PyTorch on one thread (forward, mean cross-entropy, backward, plain SGD
update, on random data of the same shape), in --rounds interleaved rounds (psgd, then PyTorch, then
psgd again ...), then prints per model and batch size: the medians over rounds of psgd's and
PyTorch's samples per CPU second, the median of the rounds' ratios with their range, and psgd's
GFLOP/s as a fraction of the best reference GEMM of the same rounds (the GEMM bound). Pin it to one
core for comparable numbers: `taskset -c 1 bench/torch_step.py` (what `make bench-torch` does).

PyTorch at its best: Debian's torch multiplies with whatever libblas.so.3 is installed (OpenBLAS
with `make torch-deps`), and OpenBLAS obeys OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some
machines set (e.g. to Haswell: AVX2 kernels on an AVX-512 CPU). This
script unsets both for the PyTorch side only (this process, before torch loads OpenBLAS); psgd's
benchmark runs with the environment as given. It prints which OpenBLAS kernel set PyTorch's BLAS
chose (threadpoolctl's "architecture", or openblas_get_corename() through ctypes) and the load
average of each round: on a shared machine the rates are noisy; the ratios, within one round, less.
Without python3-torch (`make torch-deps` installs it) it says so and prints the psgd side only.
"""

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

# Set by some machines' environment; they hold OpenBLAS to another CPU's kernels and blocking.
OPENBLAS_HOLDS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

CASES = [  # (benchmark name in model_bench.cpp, model, input shape C x H x W, batch)
    ("training_step/mlp_128x128x128/512", "mlp", (1, 28, 28), 512),
    ("training_step/mlp_128x128x128/128", "mlp", (1, 28, 28), 128),
    ("training_step/mlp_128x128x128/32", "mlp", (1, 28, 28), 32),
    ("training_step/cnn/512", "cnn", (1, 28, 28), 512),
    ("training_step/cnn/128", "cnn", (1, 28, 28), 128),
    ("training_step/cnn/32", "cnn", (1, 28, 28), 32),
    ("training_step/lenet/128", "lenet", (1, 28, 28), 128),
    ("training_step/lenet/32", "lenet", (1, 28, 28), 32),
    ("training_step_on/lenet_32x32x3/128", "lenet", (3, 32, 32), 128),
    ("training_step_on/lenet_32x32x3/32", "lenet", (3, 32, 32), 32),
]
CLASSES = 10
STEP = 0.01


def run_psgd(binary, environment):
    """One run of the psgd benchmarks, by name: samples/s and GFLOP/s (per CPU second)."""
    out = subprocess.run(
        [binary, "--benchmark_filter=mlp_128x128x128|cnn|lenet|ReferenceGemm",
         "--benchmark_format=json"],
        check=True, capture_output=True, text=True, env=environment).stdout
    return {b["name"]: b for b in json.loads(out)["benchmarks"]}


def openblas_core():
    """The kernel set of the OpenBLAS loaded in this process (after torch), or None."""
    try:
        import threadpoolctl  # pylint: disable=import-outside-toplevel
        for info in threadpoolctl.threadpool_info():
            if info.get("internal_api") == "openblas":
                return f"{info.get('architecture')} (OpenBLAS {info.get('version')}, threadpoolctl)"
    except ImportError:
        pass
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line and "/" in line}
    for path in sorted(paths):
        try:
            corename = ctypes.CDLL(path).openblas_get_corename
        except (OSError, AttributeError):
            continue
        corename.restype = ctypes.c_char_p
        return f"{corename().decode()} ({path}, openblas_get_corename)"
    return None


def torch_model(torch, name, shape):
    """The psgd model of that name in PyTorch (models/cnn.hpp, models/lenet.hpp)."""
    nn = torch.nn
    c, h, w = shape
    if name == "mlp":  # mlp:128x128x128 (models/mlp.hpp)
        widths = [c * h * w, 128, 128, 128]
        layers = [nn.Flatten()]
        for fan_in, fan_out in zip(widths, widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(widths[-1], CLASSES))
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


def torch_rate(torch, name, shape, batch, seconds):
    """Samples per CPU second of the PyTorch SGD step over `seconds` of CPU time."""
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
    steps = 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.process_time() - start)


def spread(values):
    """'median (min-max)' of a list of ratios."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", default="build/release/psgd_models_bench")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds (psgd's benchmarks, then PyTorch's steps)")
    parser.add_argument("--seconds", type=float, default=1.0, help="PyTorch's CPU time per case")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    psgd_environment = dict(os.environ)
    # Debian's torch calls whatever libblas.so.3 the alternatives system points at (OpenBLAS once
    # libopenblas0-pthread is installed, as `make torch-deps` does; the reference BLAS otherwise,
    # ~1.7x slower here), and OpenBLAS starts its own threads unless told not to.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    unset = {name: os.environ.pop(name) for name in OPENBLAS_HOLDS if name in os.environ}
    try:
        import torch  # pylint: disable=import-outside-toplevel
        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
        torch.manual_seed(1)
    except ImportError:
        torch = None
        print("python3-torch is not installed (make torch-deps installs it): PyTorch side skipped")
    if torch is not None:
        blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
        capability = [line.strip() for line in torch.__config__.show().splitlines()
                      if "CPU capability" in line]
        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread, BLAS {blas}, "
              + ", ".join(capability))
        print("PyTorch side: " + ", ".join(f"{k}={v}" for k, v in unset.items()) + " unset"
              if unset else "PyTorch side: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE were not set")
        print(f"PyTorch's OpenBLAS kernel: {openblas_core() or 'no OpenBLAS loaded'}")
    rounds = []  # per round: (psgd benchmarks by name, PyTorch rates by benchmark, load average)
    for _ in range(args.rounds):
        psgd = run_psgd(args.bench, psgd_environment)
        rates = {bench: torch_rate(torch, name, shape, batch, args.seconds)
                 for bench, name, shape, batch in CASES} if torch else {}
        rounds.append((psgd, rates, os.getloadavg()[0]))
    first = rounds[0][0]
    gemms = [name for name in ("BM_ReferenceGemm/512", "BM_ReferenceGemmOpenBLAS/512")
             if name in first]
    for name in gemms:
        print(f"{name} (one thread, psgd's environment): "
              f"{statistics.median(r[0][name]['gflops'] for r in rounds):.1f} GFLOP/s")
    print(f"of best GEMM: psgd's GFLOP/s over the faster of {' and '.join(gemms)} in each round")
    # model_bench.cpp labels each step "<spec>, gemm <kernel>": the kernel that model ran on.
    kernels = {name: first[bench].get("label", "").partition("gemm ")[2] or "?"
               for bench, name, _, _ in reversed(CASES) if bench in first}
    print("psgd's GEMM per model: " + ", ".join(f"{m} {k}" for m, k in sorted(kernels.items())))
    print(f"load average (1 min) after each round: {', '.join(f'{r[2]:.1f}' for r in rounds)}; "
          f"{args.rounds} rounds, medians; ratios within each round")
    print(f"{'model':<10}{'input':<9}{'batch':>6}{'psgd/s':>10}{'torch/s':>10}"
          f"{'ratio (range)':>20}{'GFLOP/s':>9}{'of best GEMM':>18}")
    for bench, name, shape, batch in CASES:
        psgd_rates = [r[0][bench]["samples_per_second"] for r in rounds]
        of_gemm = [r[0][bench]["gflops"] / max(r[0][g]["gflops"] for g in gemms) for r in rounds]
        gflops = statistics.median(r[0][bench]["gflops"] for r in rounds)
        shape_text = "x".join(str(v) for v in (shape[1], shape[2], shape[0]))
        line = f"{name:<10}{shape_text:<9}{batch:>6}{statistics.median(psgd_rates) / 1e3:>9.1f}k"
        if torch:
            torch_rates = [r[1][bench] for r in rounds]
            ratios = [p / t for p, t in zip(psgd_rates, torch_rates)]
            line += f"{statistics.median(torch_rates) / 1e3:>9.1f}k{spread(ratios):>20}"
        else:
            line += f"{'-':>10}{'-':>20}"
        print(line + f"{gflops:>9.1f}{spread(of_gemm):>18}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
