"""The web demo: its API through gradio_client against the app launched here, its page events, and its start-up."""

import importlib.util
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

import app  # noqa: E402 (after the skip: the demo needs the optional gradio dependency)
from benchmarks import bench_load  # noqa: E402
from depix import Depixelator, pixelate_region  # noqa: E402
from depix.detect import Mosaic  # noqa: E402
from depix.model import DepixNet, ModelConfig, save  # noqa: E402
from tests.conftest import smooth_photo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# Gradio's queue calls pandas in ways pandas 3 deprecates: not ours to fix, and noise in every run.
pytestmark = pytest.mark.filterwarnings("ignore::Warning:gradio.queueing")
HAS_DETECTION = importlib.util.find_spec("depix.detect") is not None
BOX = (40, 30, 96, 64)  # the pixelated region of the test photo, on a 12 px grid from its corner
BOX_TEXT = ",".join(map(str, BOX))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_checkpoint(folder: Path) -> Path:
    """A tiny untrained checkpoint: the app's plumbing does not depend on the weights."""
    save(DepixNet(ModelConfig(base_channels=8, depth=2, convs_per_level=1, max_channels=16)), folder)
    return folder


def start_app(checkpoint: Path, **options) -> tuple[gr.Blocks, str]:
    """Build and launch the demo in this process on a free port, with build_demo's options; (demo, url)."""
    demo = app.build_demo(Depixelator.from_pretrained(checkpoint, device="cpu"), **options)
    _, url, _ = app.launch(demo, port=free_port(), prevent_thread_lock=True)
    return demo, url


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return small_checkpoint(tmp_path_factory.mktemp("checkpoint"))


@pytest.fixture(scope="module")
def server(checkpoint):
    demo, url = start_app(checkpoint)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    return gradio_client.Client(server, verbose=False)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A clean photo and the same photo with BOX pixelated (12 px blocks), as PNG files."""
    folder = tmp_path_factory.mktemp("photos")
    clean = Image.fromarray(smooth_photo(np.random.default_rng(1), 120, 176))
    clean.save(folder / "clean.png")
    pixelate_region(clean, box=BOX, block_size=12).save(folder / "pixelated.png")
    return {"clean": folder / "clean.png", "pixelated": folder / "pixelated.png", "folder": folder}


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def inside(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> np.ndarray:
    x, y, w, h = box
    mask = np.zeros(shape[:2], bool)
    mask[y : y + h, x : x + w] = True
    return mask


def expect_error(client, pattern: str, *args, api_name: str = "/restore") -> None:
    """The call fails, and the client receives a clear message matching pattern (no traceback)."""
    with pytest.raises(Exception) as caught:
        client.predict(*args, api_name=api_name)
    message = str(caught.value)
    assert re.search(pattern, message), message
    assert "Traceback" not in message


# ---------------------------------------------------------------------------------------------------------------
# The public API.


def test_only_the_clean_endpoints_are_listed(client):
    info = client.view_api(print_info=False, return_format="dict")
    assert set(info["named_endpoints"]) == {"/restore", "/pixelate"}
    assert not info["unnamed_endpoints"]
    names = [p["parameter_name"] for p in info["named_endpoints"]["/restore"]["parameters"]]
    assert names == ["image", "box", "block_size"]


@pytest.mark.parametrize("block_size", [0, 12])
def test_restore_returns_a_png_of_the_same_size_changed_only_inside_the_box(client, photos, block_size):
    result = client.predict(
        gradio_client.handle_file(str(photos["pixelated"])), BOX_TEXT, block_size, api_name="/restore"
    )
    assert Image.open(result).format == "PNG"
    before, after = pixels(photos["pixelated"]), pixels(result)
    assert after.shape == before.shape
    box = inside(BOX, before.shape)
    assert np.array_equal(after[~box], before[~box])  # lossless, and nothing outside the box moved
    assert np.any(after[box] != before[box])


def test_restore_matches_the_library_exactly(client, photos, checkpoint):
    result = client.predict(gradio_client.handle_file(str(photos["pixelated"])), BOX_TEXT, 0, api_name="/restore")
    expected = Depixelator.from_pretrained(checkpoint, device="cpu").restore(photos["pixelated"], box=BOX)
    assert np.array_equal(pixels(result), np.asarray(expected.convert("RGB")).astype(int))


def test_restore_keeps_a_grayscale_image_grayscale(client, photos):
    gray = photos["folder"] / "gray.png"
    Image.open(photos["pixelated"]).convert("L").save(gray)
    result = client.predict(gradio_client.handle_file(str(gray)), BOX_TEXT, 12, api_name="/restore")
    assert Image.open(result).mode == "L"
    assert Image.open(result).size == Image.open(gray).size


@pytest.mark.parametrize(("block_size", "expected_block"), [(8, 8), (0, app.PIXELATE_DEFAULT_BLOCK)])
def test_pixelate_matches_the_library(client, photos, block_size, expected_block):
    result = client.predict(gradio_client.handle_file(str(photos["clean"])), BOX_TEXT, block_size, api_name="/pixelate")
    expected = pixelate_region(Image.open(photos["clean"]), box=BOX, block_size=expected_block)
    assert Image.open(result).format == "PNG"
    assert np.array_equal(pixels(result), np.asarray(expected).astype(int))


def test_requests_at_the_same_time_each_get_their_own_result(client, photos):
    other = photos["folder"] / "other.png"
    clean = Image.fromarray(smooth_photo(np.random.default_rng(7), 120, 176))
    pixelate_region(clean, box=BOX, block_size=8).save(other)
    jobs = [
        client.submit(gradio_client.handle_file(str(path)), BOX_TEXT, size, api_name="/restore")
        for path, size in ((photos["pixelated"], 12), (other, 8), (photos["pixelated"], 12), (other, 8))
    ]
    results = [job.result(timeout=60) for job in jobs]
    box = inside(BOX, pixels(other).shape)
    for result, source in zip(results, (photos["pixelated"], other, photos["pixelated"], other), strict=True):
        assert np.array_equal(pixels(result)[~box], pixels(source)[~box])
    assert np.array_equal(pixels(results[0]), pixels(results[2]))


def test_sixteen_clients_at_once_each_get_their_own_result(server, tmp_path):
    requests = bench_load.make_requests(tmp_path, clients=16, per_client=1, endpoints=("/pixelate",), size=96)
    outcomes, _ = bench_load.run_load(server, requests)
    assert len(outcomes) == 16
    assert [o.error for o in outcomes if o.error] == []
    assert all(o.matches for o in outcomes)
    # The check tells answers apart: another request's answer does not pass.
    other = tmp_path / "other.png"
    Image.fromarray(requests[1][0].expected).save(other)
    assert bench_load.answer_matches(requests[1][0], str(other))
    assert not bench_load.answer_matches(requests[0][0], str(other))


@pytest.fixture
def slow_pixelate(monkeypatch):
    """/pixelate waits until the returned event is set (at most 30 s: abandoned work ends by then).

    The event's `started` event is set once a request is being held.
    """
    release = threading.Event()
    release.started = threading.Event()

    def slow(*args, **kwargs):
        release.started.set()
        release.wait(30)
        return pixelate_region(*args, **kwargs)

    monkeypatch.setattr(app, "pixelate_region", slow)
    yield release
    release.set()


def test_a_request_over_the_time_limit_ends_with_a_clear_message_and_the_server_keeps_serving(
    checkpoint, photos, slow_pixelate
):
    demo, url = start_app(checkpoint, time_limit=1)
    try:
        client = gradio_client.Client(url, verbose=False)
        image = gradio_client.handle_file(str(photos["clean"]))
        started = time.monotonic()
        expect_error(client, r"Processing took longer than 1 s, the limit", image, BOX_TEXT, 8, api_name="/pixelate")
        assert time.monotonic() - started < 10  # the limit, plus the round trip on a busy machine
        slow_pixelate.set()
        assert Image.open(client.predict(image, BOX_TEXT, 8, api_name="/pixelate")).size == (176, 120)
    finally:
        demo.close()


def test_a_full_queue_turns_requests_away_at_once_with_a_clear_message(checkpoint, photos, slow_pixelate):
    demo, url = start_app(checkpoint, concurrency=1, queue_size=1)
    try:
        # One client per request: two jobs of one client share its event stream, which can hold the second back.
        client, first, second = (gradio_client.Client(url, verbose=False) for _ in range(3))
        image = gradio_client.handle_file(str(photos["clean"]))
        running = first.submit(image, BOX_TEXT, 8, api_name="/pixelate")
        # The second only once the first runs: while the first still waits in the queue of one, it is full.
        assert slow_pixelate.started.wait(25), "the first request never started"
        waiting = second.submit(image, BOX_TEXT, 8, api_name="/pixelate")
        deadline = time.monotonic() + 25  # the held request is let go after 30 s
        # The first runs (held), the second waits: counted by the server, as the client's job status proved unreliable.
        while len(demo._queue) < 1:
            assert time.monotonic() < deadline, "the second request never reached the queue"
            time.sleep(0.05)
        started = time.monotonic()
        with pytest.raises(gradio_client.utils.QueueError, match="Queue is full"):
            client.predict(image, BOX_TEXT, 8, api_name="/pixelate")
        assert time.monotonic() - started < 10
        slow_pixelate.set()
        for job in (running, waiting):
            assert Image.open(job.result(timeout=60)).size == (176, 120)
    finally:
        demo.close()


def test_errors_reach_the_client_as_clear_messages_and_the_server_keeps_serving(client, photos, tmp_path):
    image = gradio_client.handle_file(str(photos["pixelated"]))
    expect_error(client, r"The box \(100, 10, 100, 40\) is not inside the 176x120 image", image, "100,10,100,40", 0)
    expect_error(client, r"A box is four whole numbers 'x,y,w,h', got 'ten'", image, "ten", 0)
    expect_error(client, r"The box must have a positive width and height", image, "10,10,0,5", 0)
    expect_error(client, r"The marked region is too small \(3x20 pixels\)", image, "10,10,3,20", 0)
    expect_error(client, r"The block size must be between 2 and 176, got 1", image, BOX_TEXT, 1)
    expect_error(
        client, r"The block size must be between 2 and 176, got 500", image, BOX_TEXT, 500, api_name="/pixelate"
    )
    expect_error(client, r"Give the region to pixelate as a box x,y,w,h", image, "", 8, api_name="/pixelate")
    text_file = tmp_path / "notes.png"
    text_file.write_text("not an image")
    expect_error(
        client, r"The file is not an image depix can read", gradio_client.handle_file(str(text_file)), BOX_TEXT, 0
    )
    # Too many pixels: refused from the header, before decoding (a flat PNG stays small on disk).
    huge = tmp_path / "huge.png"
    Image.new("L", (7000, 6000)).save(huge)
    expect_error(client, r"42\.0 megapixels; the limit is 40", gradio_client.handle_file(str(huge)), BOX_TEXT, 0)
    # Still serving.
    result = client.predict(image, BOX_TEXT, 0, api_name="/restore")
    assert Image.open(result).size == (176, 120)


def test_a_failure_inside_the_library_is_logged_and_reported_without_details(checkpoint, photos, monkeypatch, caplog):
    handlers = app.make_handlers(Depixelator.from_pretrained(checkpoint, device="cpu"))

    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(Depixelator, "restore", broken)
    with pytest.raises(gr.Error) as caught:
        handlers["api_restore"](str(photos["pixelated"]), BOX_TEXT, 0)
    assert "Something went wrong" in caught.value.message
    assert "secret" not in caught.value.message
    assert "secret internal detail" in caplog.text


# ---------------------------------------------------------------------------------------------------------------
# The page's main button, driven through the server (both modes) and directly.


def editor_value(image_path, layer_path=None) -> dict:
    layers = [gradio_client.handle_file(str(layer_path))] if layer_path else []
    return {"background": gradio_client.handle_file(str(image_path)), "layers": layers, "composite": None, "id": None}


def brush_layer(path: Path, size: tuple[int, int], box: tuple[int, int, int, int]) -> Path:
    """A transparent layer with a half-opaque stroke over box, as the editor sends it."""
    layer = np.zeros((size[1], size[0], 4), np.uint8)
    x, y, w, h = box
    layer[y : y + h, x : x + w] = (255, 20, 147, 153)
    Image.fromarray(layer, "RGBA").save(path)
    return path


def test_page_restore_mode_with_a_brush_stroke(client, photos):
    stroke = brush_layer(photos["folder"] / "layer.png", (176, 120), (52, 42, 60, 30))  # inside the mosaic
    out = client.predict(
        editor_value(photos["pixelated"], stroke), app.RESTORE_MODE, "", app.AUTO_BLOCK, 12, api_name="/ui_run"
    )
    (before, after), download, *_, status = out
    assert np.array_equal(pixels(before), pixels(photos["pixelated"]))
    assert np.array_equal(pixels(download["value"]), pixels(after))
    # The brush marks every 12 px block it touches: those change, the rest stays.
    changed = np.any(pixels(after) != pixels(before), axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.any()
    assert xs.min() >= BOX[0] and ys.min() >= BOX[1]
    assert xs.max() < BOX[0] + BOX[2] and ys.max() < BOX[1] + BOX[3]
    assert status.startswith("Restored the painted region")


def test_page_try_it_mode_shows_three_images_and_scores(client, photos):
    out = client.predict(
        editor_value(photos["clean"]), app.TRY_MODE, BOX_TEXT, app.MANUAL_BLOCK, 12, api_name="/ui_run"
    )
    (pixelated, restored), download, original, pixelated_view, restored_view, scores, status = out
    assert np.array_equal(pixels(pixelated), np.asarray(pixelate_region(photos["clean"], box=BOX, block_size=12)))
    assert Image.open(restored).size == (176, 120)
    assert all(Image.open(p).format == "PNG" for p in (original, pixelated_view, restored_view))
    assert Image.open(original).size < (176, 120)  # a close-up of the region
    for method in ("Pixelated input", "Bicubic upscaling", "depix"):
        assert re.search(rf"\| {method} \| \d+\.\d\d \| \d+\.\d\d dB \|", scores), scores
    assert status.startswith("Pixelated with 12 px blocks")


@pytest.mark.parametrize(
    ("mode", "editor", "box", "pattern"),
    [
        (app.RESTORE_MODE, None, "", r"No image yet"),
        (app.TRY_MODE, "clean", "", r"Nothing is marked"),
        (app.TRY_MODE, "clean", "0,0,2,50", r"The marked region is too small \(2x50 pixels\)"),
        (app.RESTORE_MODE, "pixelated", "0,0,500,50", r"is not inside the 176x120 image"),
    ],
)
def test_page_errors(client, photos, mode, editor, box, pattern):
    value = editor_value(photos[editor]) if editor else None
    expect_error(client, pattern, value, mode, box, app.AUTO_BLOCK, 12, api_name="/ui_run")


def test_typed_box_wins_over_brush_strokes_and_says_so(checkpoint, photos):
    handlers = app.make_handlers(Depixelator.from_pretrained(checkpoint, device="cpu"))
    layer = Image.open(brush_layer(photos["folder"] / "stroke.png", (176, 120), (0, 0, 20, 20)))
    value = {"background": Image.open(photos["pixelated"]).convert("RGBA"), "layers": [layer], "composite": None}
    out = handlers["run"](value, app.RESTORE_MODE, BOX_TEXT, app.MANUAL_BLOCK, 12)
    (_, after), *_, status = out
    assert "The typed box was used" in status
    assert np.array_equal(pixels(after)[:20, :20], pixels(photos["pixelated"])[:20, :20])
    assert Image.open(after).mode == "RGB"  # the editor's opaque RGBA comes back as RGB


def test_a_mask_crossing_the_mosaic_border_gets_a_helpful_message(checkpoint, photos, fake_detection):
    handlers = app.make_handlers(Depixelator.from_pretrained(checkpoint, device="cpu"))
    layer = Image.open(brush_layer(photos["folder"] / "wide.png", (176, 120), (0, 40, 176, 20)))
    value = {"background": Image.open(photos["pixelated"]), "layers": [layer], "composite": None}
    with pytest.raises(gr.Error, match="the brush must stay inside the mosaic"):
        handlers["run"](value, app.RESTORE_MODE, "", app.AUTO_BLOCK, 12)


# ---------------------------------------------------------------------------------------------------------------
# Automatic detection: a stand-in with chosen finds, and the real one.


@pytest.fixture
def fake_detection(monkeypatch):
    found = []
    monkeypatch.setattr(app, "find_mosaics", lambda image: list(found))  # the app runs in this process
    return found


def test_empty_box_restores_every_found_mosaic(client, photos, fake_detection):
    fake_detection.append(Mosaic(BOX, 12, BOX[:2], 0.9))
    result = client.predict(gradio_client.handle_file(str(photos["pixelated"])), "", 0, api_name="/restore")
    box = inside(BOX, pixels(result).shape)
    assert np.array_equal(pixels(result)[~box], pixels(photos["pixelated"])[~box])
    assert np.any(pixels(result)[box] != pixels(photos["pixelated"])[box])
    box_text, status = client.predict(editor_value(photos["pixelated"]), api_name="/ui_detect")
    assert box_text == BOX_TEXT
    assert "Found a pixelated region" in status and "12 px blocks" in status


def test_nothing_found_is_a_clear_error(client, photos, fake_detection):
    expect_error(
        client,
        "No pixelated region was found automatically",
        gradio_client.handle_file(str(photos["pixelated"])),
        " ",
        0,
    )
    expect_error(
        client, "No pixelated region was found automatically", editor_value(photos["pixelated"]), api_name="/ui_detect"
    )


def test_detection_rescues_a_jpeg_mosaic_whose_grid_cannot_be_estimated(client, photos, fake_detection):
    fake_detection.append(Mosaic(BOX, 12, BOX[:2], 0.9))
    jpeg = photos["folder"] / "pixelated.jpg"
    Image.open(photos["pixelated"]).save(jpeg, quality=90)  # JPEG noise: no two block pixels are equal any more
    result = client.predict(gradio_client.handle_file(str(jpeg)), BOX_TEXT, 0, api_name="/restore")
    before, after = pixels(jpeg), pixels(result)
    box = inside(BOX, before.shape)
    assert np.array_equal(after[~box], before[~box])
    assert np.any(after[box] != before[box])


def test_detection_keeps_brush_strokes_that_spill_over_the_mosaic_inside_it(client, photos, fake_detection):
    fake_detection.append(Mosaic(BOX, 12, BOX[:2], 0.9))
    stroke = brush_layer(photos["folder"] / "spill.png", (176, 120), (0, 50, 176, 20))  # across the whole photo
    out = client.predict(
        editor_value(photos["pixelated"], stroke), app.RESTORE_MODE, "", app.AUTO_BLOCK, 12, api_name="/ui_run"
    )
    (before, after), *_, status = out
    changed = np.any(pixels(after) != pixels(before), axis=2)
    assert changed.any() and not changed[~inside(BOX, changed.shape)].any()
    assert "found by automatic detection" in status


@pytest.mark.skipif(not HAS_DETECTION, reason="depix.detect is not written yet")
def test_the_real_detection_finds_the_mosaic(client, photos):
    jpeg = photos["folder"] / "real-detection.jpg"
    Image.open(photos["pixelated"]).save(jpeg, quality=90)
    for source, box_text in ((photos["pixelated"], ""), (jpeg, BOX_TEXT)):
        result = client.predict(gradio_client.handle_file(str(source)), box_text, 0, api_name="/restore")
        box = inside(BOX, pixels(result).shape)
        assert np.array_equal(pixels(result)[~box], pixels(source)[~box])
        assert np.any(pixels(result)[box] != pixels(source)[box])


# ---------------------------------------------------------------------------------------------------------------
# Helpers of the page.


def test_editor_mask_unites_the_painted_pixels_of_all_layers():
    a = np.zeros((10, 12, 4), np.uint8)
    a[2:4, 3:5, 3] = 40
    b = np.zeros((10, 12, 4), np.uint8)
    b[7, 1, 3] = 255
    mask = app.editor_mask({"layers": [Image.fromarray(a), Image.fromarray(b)]}, (12, 10))
    assert mask.sum() == 5 and mask[7, 1] and mask[2:4, 3:5].all()
    assert app.editor_mask({"layers": [Image.fromarray(np.zeros((10, 12, 4), np.uint8))]}, (12, 10)) is None
    assert app.editor_mask({"layers": []}, (12, 10)) is None
    # Strokes on a canvas of another size are scaled onto the photo.
    assert app.editor_mask({"layers": [Image.fromarray(a)]}, (24, 20)).sum() == 16


def test_scores_and_bicubic_baseline():
    rng = np.random.default_rng(3)
    image = Image.fromarray(smooth_photo(rng, 60, 80))
    region = inside((10, 10, 40, 30), (60, 80))
    assert app.rmse_psnr(image, image, region) == (0.0, float("inf"))
    shifted = Image.fromarray(np.clip(np.asarray(image).astype(int) + 4, 0, 255).astype(np.uint8))
    rmse, psnr = app.rmse_psnr(image, shifted, region)
    assert 3 < rmse <= 4 and psnr == pytest.approx(20 * np.log10(255 / rmse))
    # A flat mosaic stays flat under bicubic upscaling; pixels outside the region never move.
    flat = Image.new("RGB", (80, 60), (90, 120, 200))
    assert np.array_equal(np.asarray(app.bicubic_baseline(flat, region, 10, (10, 10))), np.asarray(flat))
    pixelated = pixelate_region(image, box=(10, 10, 40, 30), block_size=10)
    bicubic = np.asarray(app.bicubic_baseline(pixelated, region, 10, (10, 10))).astype(int)
    assert np.array_equal(bicubic[~region], np.asarray(pixelated).astype(int)[~region])
    assert app.rmse_psnr(image, Image.fromarray(bicubic.astype(np.uint8)), region)[0] < rmse * 10


def test_error_text_is_a_sentence_and_html_safe():
    assert app._sentence("the box is <bad>") == "The box is &lt;bad&gt;."
    assert app._sentence("Done.") == "Done."


# ---------------------------------------------------------------------------------------------------------------
# Start-up.


def test_python_app_py_serves_the_page(checkpoint):
    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--checkpoint", str(checkpoint), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "the app did not answer within 90 s"
                time.sleep(0.2)
        assert "depix: restore pixelated images" in page
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_missing_checkpoint_stops_with_a_clear_message(tmp_path):
    with pytest.raises(SystemExit) as caught:
        app.main(["--checkpoint", str(tmp_path / "nowhere")])
    assert "checkpoint not found" in str(caught.value)


def test_an_unreachable_repo_id_falls_back_to_the_shipped_checkpoint(checkpoint, monkeypatch, capsys):
    import depix.model

    monkeypatch.setattr(depix.model, "DEFAULT_CHECKPOINT", checkpoint)
    monkeypatch.setattr(app, "DEFAULT_CHECKPOINT", checkpoint)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    depixelator = app.load_depixelator("nobody/depix-model-that-does-not-exist", "cpu")
    assert isinstance(depixelator, Depixelator)
    assert "using the shipped checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--auth", "nopassword"],
        ["--auth", ":pw"],
        ["--concurrency", "0"],
        ["--time-limit", "0"],
        ["--time-limit", "nan"],
        ["--max-file-size", "64 parsecs"],
        ["--max-file-size", "0mb"],
        ["--max-pixels", "0"],
        ["--queue-size", "0"],
    ],
)
def test_bad_options_are_refused(argv):
    with pytest.raises(SystemExit):
        app.parse_args(argv)


def test_options():
    args = app.parse_args(["--host", "0.0.0.0", "--port", "9000", "--share", "--auth", "me:se:cret"])
    assert (args.host, args.port, args.share, args.auth) == ("0.0.0.0", 9000, True, "me:se:cret")
    args = app.parse_args([])
    assert (args.time_limit, args.max_file_size, args.max_pixels, args.queue_size) == (60, 64 << 20, 40_000_000, 64)
    args = app.parse_args(
        ["--time-limit", "2.5", "--max-file-size", "500KB", "--max-pixels", "1000", "--queue-size", "3"]
    )
    assert (args.time_limit, args.max_file_size, args.max_pixels, args.queue_size) == (2.5, 500 << 10, 1000, 3)
