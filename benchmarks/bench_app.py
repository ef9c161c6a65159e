"""Benchmark the web demo: start-up time, and /restore and /pixelate latency through gradio_client.

    python benchmarks/bench_app.py [--checkpoint PATH_OR_REPO_ID] [--requests 10] [--size 1024] [--region 256]

Prints a Markdown table. Without --checkpoint it uses the shipped checkpoint, or (while none exists) a model of
the shipped architecture with random weights: the latency does not depend on the weights.
"""

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import ENV, app_checkpoint, app_server  # noqa: E402 (after the path set-up: runs from a checkout)
from depix import pixelate_region  # noqa: E402

STARTUP = "import sys; sys.path.insert(0, {root!r}); import app; app.load_depixelator({checkpoint!r}, 'cpu')"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation."""
    return float(np.percentile(values, q))


def startup_seconds(code: str) -> tuple[float, float]:
    """Wall-clock and CPU seconds of a fresh Python running code (interpreter start included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc; NaN where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_photo(folder: Path, size: int, region: int, block_size: int) -> tuple[Path, str]:
    """A size-px-wide photo (a real one when data/photos has it) with a pixelated square region in the middle."""
    source = ROOT / "data" / "photos" / "scipy" / "face-8427488f.png"
    if source.exists():
        image = Image.open(source).convert("RGB")
        image = image.resize((size, round(size * image.height / image.width)), Image.Resampling.LANCZOS)
    else:
        from tests.conftest import smooth_photo

        image = Image.fromarray(smooth_photo(np.random.default_rng(0), size * 3 // 4, size))
    x, y = (image.width - region) // 2, (image.height - region) // 2
    box = f"{x},{y},{region},{region}"
    path = folder / "photo.png"
    pixelate_region(image, box=box, block_size=block_size).save(path)
    return path, box


def main() -> None:
    """Run the benchmark and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", help="default: the shipped checkpoint, or random weights of its architecture")
    p.add_argument("--requests", type=int, default=10)
    p.add_argument("--size", type=int, default=1024, help="photo width in pixels")
    p.add_argument("--region", type=int, default=256, help="side of the pixelated square in pixels")
    p.add_argument("--block-size", type=int, default=16)
    args = p.parse_args()

    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint, note = (args.checkpoint, "") if args.checkpoint else app_checkpoint(folder)
        photo, box = test_photo(folder, args.size, args.region, args.block_size)
        width, height = Image.open(photo).size

        startups = [startup_seconds(STARTUP.format(root=str(ROOT), checkpoint=checkpoint)) for _ in range(3)]
        floors = [startup_seconds("import gradio, torch") for _ in range(3)]  # what the app cannot go below

        started = time.perf_counter()
        with app_server(checkpoint) as (url, server):
            first_page = time.perf_counter() - started
            client = Client(url, verbose=False)
            rows = []
            for name, endpoint, block_size in (
                ("/restore, block size estimated (0)", "/restore", 0),
                (f"/restore, block size {args.block_size}", "/restore", args.block_size),
                (f"/pixelate, block size {args.block_size}", "/pixelate", args.block_size),
            ):
                client.predict(handle_file(str(photo)), box, block_size, api_name=endpoint)  # warm-up
                times = []
                server_cpu = cpu_seconds(server.pid)
                for _ in range(args.requests):
                    t = time.perf_counter()
                    result = client.predict(handle_file(str(photo)), box, block_size, api_name=endpoint)
                    times.append(time.perf_counter() - t)
                    assert Image.open(result).size == (width, height)
                server_cpu = (cpu_seconds(server.pid) - server_cpu) / args.requests
                rows.append((name, statistics.median(times), percentile(times, 95), server_cpu, len(times)))

    threads = os.environ.get("OMP_NUM_THREADS", "all")
    print(f"depix web demo on {os.cpu_count()} CPU cores (OMP_NUM_THREADS={threads}), checkpoint {checkpoint}{note}")
    print(f"photo {width}x{height} px, pixelated region {args.region}x{args.region} px, blocks of {args.block_size} px")
    print()
    print("| measurement | p50 | p95 (start-up: max) | CPU time | n |")
    print("|---|---:|---:|---:|---:|")
    for name, runs in (
        ("start-up: interpreter + imports + model load", startups),
        ("(floor: a bare `import gradio, torch`)", floors),
    ):
        walls, cpus = zip(*runs, strict=True)
        print(
            f"| {name} | {statistics.median(walls):.2f} s | {max(walls):.2f} s "
            f"| {statistics.median(cpus):.2f} s | {len(walls)} |"
        )
    print(f"| start-up: launch until the page answers | {first_page:.2f} s | | | 1 |")
    for name, p50, p95, cpu, n in rows:
        print(f"| {name} (gradio_client round trip) | {p50:.3f} s | {p95:.3f} s | {cpu:.3f} s | {n} |")
    print()
    print(f"Load average at the end: {os.getloadavg()[0]:.1f}. CPU time: the work itself, whatever else runs.")


if __name__ == "__main__":
    main()
