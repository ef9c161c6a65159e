"""Load on the web demo: concurrent gradio_client clients, every request with its own image, every answer checked.

    python -m benchmarks.bench_load [--clients 16] [--requests 5] [--checkpoint PATH_OR_REPO_ID] [--concurrency 2]

Launches `python app.py` on the CPU; each client sends its requests one after another, alternating /pixelate and
/restore. Every request's photo is different, so an answer meant for another request cannot pass the check:
/pixelate must equal depix.pixelate_region's result exactly, /restore must keep every pixel outside the box of its
own input and change the box. Prints a Markdown table per endpoint.
"""

import argparse
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import app_checkpoint, app_server, print_table
from depix import pixelate_region

ENDPOINTS = ("/pixelate", "/restore")
BLOCK_SIZES = (6, 8, 10, 12)


@dataclass
class Request:
    """One request and what its answer must look like."""

    endpoint: str
    path: Path  # the photo sent
    box: tuple[int, int, int, int]
    block_size: int
    expected: np.ndarray  # /pixelate: the whole answer; /restore: the input, which must stay outside the box


@dataclass
class Outcome:
    """What became of one request."""

    endpoint: str
    seconds: float
    matches: bool = False  # whether the answer is this request's own result
    error: str | None = None  # the server's or the client's message, when the call failed


def make_requests(
    folder: Path, clients: int, per_client: int, endpoints: tuple[str, ...], size: int
) -> list[list[Request]]:
    """requests[client][i]: photos of size x 3/4 size px, each drawn from its own seed, with a box in the middle."""
    width, height = size, size * 3 // 4
    box = (width // 4, height // 4, width // 2, height // 2)
    requests = []
    for client in range(clients):
        mine = []
        for i in range(per_client):
            n = client * per_client + i
            rng = np.random.default_rng(n)
            coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)  # a smooth photo of its own: colours and shapes
            photo = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
            block_size = BLOCK_SIZES[n % len(BLOCK_SIZES)]
            endpoint = endpoints[n % len(endpoints)]
            if endpoint == "/restore":
                photo = pixelate_region(photo, box=box, block_size=block_size)
                expected = np.asarray(photo)
            else:
                expected = np.asarray(pixelate_region(photo, box=box, block_size=block_size))
            path = folder / f"request-{n}.png"
            photo.save(path)
            mine.append(Request(endpoint, path, box, block_size, expected))
        requests.append(mine)
    return requests


def answer_matches(request: Request, answer: str) -> bool:
    """Whether the returned image is the one this request asked for."""
    pixels = np.asarray(Image.open(answer).convert("RGB"))
    if pixels.shape != request.expected.shape:
        return False
    if request.endpoint == "/pixelate":
        return bool(np.array_equal(pixels, request.expected))
    x, y, w, h = request.box
    outside = np.ones(pixels.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    return bool(np.array_equal(pixels[outside], request.expected[outside]) and np.any(pixels != request.expected))


def run_load(url: str, requests: list[list[Request]]) -> tuple[list[Outcome], float]:
    """One gradio_client per list of requests, all at once; every outcome and the wall-clock seconds of the run."""
    from gradio_client import Client, handle_file

    clients = [Client(url, verbose=False) for _ in requests]  # connected before the clock starts
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def send(client: Client, mine: list[Request]) -> None:
        for request in mine:
            args = handle_file(str(request.path)), ",".join(map(str, request.box)), request.block_size
            started = time.perf_counter()
            try:
                answer = client.predict(*args, api_name=request.endpoint)
                seconds = time.perf_counter() - started
                outcome = Outcome(request.endpoint, seconds, matches=answer_matches(request, answer))
            except Exception as e:  # a failed request is counted, not fatal
                outcome = Outcome(request.endpoint, time.perf_counter() - started, error=f"{type(e).__name__}: {e}")
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(clients, requests, strict=True)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - started


def report(outcomes: list[Outcome], seconds: float) -> None:
    """A Markdown table: per endpoint and all together."""
    rows = []
    for name in (*sorted({o.endpoint for o in outcomes}), "all"):
        mine = [o for o in outcomes if name in ("all", o.endpoint)]
        ok = [o for o in mine if o.error is None]
        latencies = [o.seconds for o in ok] or [float("nan")]
        rows.append(
            [
                name,
                len(mine),
                len(ok),
                sum(not o.matches for o in ok),
                len(mine) - len(ok),
                f"{np.percentile(latencies, 50):.2f} s",
                f"{np.percentile(latencies, 95):.2f} s",
                f"{max(latencies):.2f} s",
                f"{len(ok) / seconds:.2f}/s",
            ]
        )
    header = ["endpoint", "requests", "successes", "mismatches", "errors", "p50", "p95", "max", "throughput"]
    print_table(header, rows)
    for error in sorted({o.error for o in outcomes if o.error}):
        print(f"\nerror: {error}")


def main() -> None:
    """Launch the app, run the load and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=5, help="requests per client, one after another")
    p.add_argument("--checkpoint", help="default: the shipped checkpoint, or random weights of its architecture")
    p.add_argument("--concurrency", type=int, default=2, help="the app's --concurrency")
    p.add_argument("--size", type=int, default=320, help="photo width in pixels (height: 3/4 of it)")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        checkpoint, note = (args.checkpoint, "") if args.checkpoint else app_checkpoint(folder)
        requests = make_requests(folder, args.clients, args.requests, ENDPOINTS, args.size)
        with app_server(checkpoint, "--concurrency", str(args.concurrency)) as (url, _):
            outcomes, seconds = run_load(url, requests)

    threads = os.environ.get("OMP_NUM_THREADS", "all")
    print(f"depix web demo on {os.cpu_count()} CPU cores (OMP_NUM_THREADS={threads}), checkpoint {checkpoint}{note}")
    print(
        f"{args.clients} clients x {args.requests} requests, app --concurrency {args.concurrency}, "
        f"photos {args.size}x{args.size * 3 // 4} px with a {args.size // 2}x{args.size * 3 // 8} px box, "
        f"{seconds:.1f} s in all"
    )
    print()
    report(outcomes, seconds)
    print()
    print(f"Load average at the end: {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
