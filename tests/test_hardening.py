"""A catalogue of bad inputs: each ends with one clear line on stderr and exit status 2, never a traceback."""

import contextlib
import io
import pickle
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from PIL import Image

from benchmarks import fuzz
from depix import Depixelator, InputError, pixelate_region
from depix.cli import main
from depix.model import DepixNet, ModelConfig, save


class Exploit:
    def __reduce__(self):
        return (exec, ("open('PWNED_MARKER', 'w').write('x')",))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8))
    photo.save(d / "ok.png")
    (d / "text.png").write_text("this is not an image")
    (d / "empty.png").write_bytes(b"")
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    (d / "truncated.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG")
    (d / "truncated.jpg").write_bytes(buffer.getvalue()[:200])
    buffer = io.BytesIO()  # a TIFF whose second frame has no size: Pillow raises TypeError counting the frames
    Image.new("L", (8, 8)).save(buffer, "TIFF")
    tiff = bytearray(buffer.getvalue())
    first = struct.unpack_from("<I", tiff, 4)[0]
    struct.pack_into("<I", tiff, first + 2 + 12 * struct.unpack_from("<H", tiff, first)[0], len(tiff))
    (d / "no_size.tif").write_bytes(tiff + struct.pack("<HHHIII", 1, 0x0106, 3, 1, 1, 0))
    buffer = io.BytesIO()  # a TIFF whose width is stored as a byte string: Pillow raises ValueError on opening
    Image.new("L", (8, 8)).save(buffer, "TIFF")
    tiff = bytearray(buffer.getvalue())
    tiff[12] = 1  # the first entry's (ImageWidth's) type: BYTE
    (d / "bad_width.tif").write_bytes(tiff)
    Image.new("RGB", (1, 1)).save(d / "one.png")
    Image.new("1", (20000, 20000)).save(d / "bomb.png")  # 400 megapixels in a few kilobytes
    Image.new("L", (8000, 6000)).save(d / "big.png")
    Image.fromarray((rng.integers(0, 65536, (60, 80))).astype(np.uint16)).save(d / "sixteen.png")
    photo.convert("CMYK").save(d / "cmyk.jpg")
    palette = photo.convert("P")
    palette.info["transparency"] = 0
    palette.save(d / "palette.png", transparency=0)
    frames = [photo, photo.transpose(Image.FLIP_LEFT_RIGHT)]
    frames[0].save(d / "anim.gif", save_all=True, append_images=frames[1:])
    exif = Image.Exif()
    exif[0x0112] = 8
    photo.save(d / "rotated.jpg", exif=exif)
    Image.new("L", (10, 10), 255).save(d / "small_mask.png")
    Image.new("L", (80, 60), 0).save(d / "empty_mask.png")
    save(DepixNet(ModelConfig(base_channels=8, depth=2, convs_per_level=1, max_channels=16)), d / "ck")
    (d / "broken_ck").mkdir()
    (d / "broken_ck" / "config.json").write_text("{}")
    (d / "broken_ck" / "model.safetensors").write_bytes(b"garbage")
    (d / "mismatch_ck").mkdir()
    save(DepixNet(ModelConfig(base_channels=4, depth=1, convs_per_level=1)), d / "mismatch_ck")
    config = (d / "mismatch_ck" / "config.json").read_text().replace('"base_channels": 4', '"base_channels": 8')
    (d / "mismatch_ck" / "config.json").write_text(config)
    (d / "pwn.pkl").write_bytes(pickle.dumps({"pixelated_images": (Exploit(),), "known_arrays": ()}))
    arrays = {
        "wrong_shape.pkl": ((np.zeros((64, 64), np.uint8),), (np.zeros((64, 64), bool),)),
        "wrong_dtype.pkl": ((np.zeros((1, 64, 64), np.float64),), (np.zeros((1, 64, 64), bool),)),
        "mask_dtype.pkl": ((np.zeros((1, 64, 64), np.uint8),), (np.zeros((1, 64, 64), np.int8),)),
        "lengths.pkl": ((np.zeros((1, 64, 64), np.uint8),) * 2, (np.zeros((1, 64, 64), bool),)),
    }
    for name, (images, knowns) in arrays.items():
        (d / name).write_bytes(pickle.dumps({"pixelated_images": images, "known_arrays": knowns}))
    (d / "list.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    (d / "bytes.bin").write_bytes(bytes([1, 5, 1, 2]))
    (d / "ok.bin").write_bytes(bytes([0, 5]))
    return d


R = ["restore", "{d}/ok.png", "-o", "{out}/r.png", "--checkpoint", "{d}/ck"]
CATALOGUE = [
    (["restore", "{d}/text.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "not an image"),
    (["restore", "{d}/empty.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "not an image"),
    (["restore", "{d}/truncated.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "broken"),
    (["restore", "{d}/truncated.jpg", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "broken"),
    (["restore", "{d}/no_size.tif", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "broken"),
    (["restore", "{d}/bad_width.tif", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "broken"),
    (["restore", "{d}/one.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "not inside"),
    (["restore", "{d}/one.png", "-o", "{out}/r.png", "--box", "0,0,1,1", "--checkpoint", "{d}/ck"], "too small"),
    (["restore", "{d}/bomb.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "too large"),
    (["restore", "{d}/big.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "megapixels"),
    (["restore", "{d}/nothing.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/ck"], "not found"),
    ([*R, "--box", "70,0,20,20"], "not inside"),
    ([*R, "--box=-5,0,20,20"], "not inside"),
    ([*R, "--box", "-5,0,20,20"], "expected one argument"),
    (["restore", "{d}/ok.png"], "required: -o/--output"),
    (["frobnicate"], "invalid choice"),
    ([*R, "--box", "0,0,0,20"], "positive"),
    ([*R, "--box", "0,0,20,-3"], "positive"),
    ([*R, "--box", "0,0,500,500"], "not inside"),
    ([*R, "--box", "a,b,c,d"], "whole numbers"),
    ([*R, "--box", "1,2,3"], "four whole numbers"),
    ([*R, "--box", "1.5,2,3,4"], "whole numbers"),
    ([*R, "--box", ""], "four whole numbers"),
    ([*R, "--mask", "{d}/small_mask.png"], "mask is 10x10"),
    ([*R, "--mask", "{d}/empty_mask.png"], "marks no pixel"),
    ([*R, "--mask", "{d}/text.png"], "not an image"),
    ([*R, "--box", "0,0,20,20", "--block", "0"], "between 2 and"),
    ([*R, "--box", "0,0,20,20", "--block", "1"], "between 2 and"),
    ([*R, "--box", "0,0,20,20", "--block", "-8"], "between 2 and"),
    ([*R, "--box", "0,0,20,20", "--block", "1000"], "between 2 and"),
    ([*R, "--box", "0,0,20,20", "--offset", "1"], "--offset"),
    ([*R, "--box", "0,0,20,20", "--offset", "a,b"], "--offset"),
    (["restore", "{d}/ok.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/broken_ck"], "checkpoint"),
    (["restore", "{d}/ok.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/mismatch_ck"], "match"),
    (["restore", "{d}/ok.png", "-o", "{out}/r.png", "--box", "0,0,8,8", "--checkpoint", "{d}/nowhere"], "not found"),
    (
        [
            "restore",
            "{d}/ok.png",
            "-o",
            "{out}/r.png",
            "--box",
            "0,0,8,8",
            "--checkpoint",
            "{d}/ck",
            "--device",
            "cuda",
        ],
        "cuda",
    ),  # fmt: skip
    (
        [
            "restore",
            "{d}/ok.png",
            "-o",
            "/proc/forbidden/r.png",
            "--box",
            "0,0,8,8",
            "--block",
            "4",
            "--checkpoint",
            "{d}/ck",
        ],
        "cannot write",
    ),  # fmt: skip
    (["pixelate", "{d}/ok.png", "-o", "{out}/p.png", "--box", "0,0,8,8", "--block", "0"], "between 2 and"),
    (["pixelate", "{d}/ok.png", "-o", "{out}/p.png", "--box", "90,0,8,8", "--block", "4"], "not inside"),
    (["pixelate", "{d}/text.png", "-o", "{out}/p.png", "--box", "0,0,8,8", "--block", "4"], "not an image"),
    (["pixelate", "{d}/ok.png", "-o", "{out}/p.png", "--block", "4"], "give --box"),
    (["challenge", "{d}/pwn.pkl", "-o", "{out}/p.bin", "--baseline", "identity"], "refusing to load"),
    (["challenge", "{d}/wrong_shape.pkl", "-o", "{out}/p.bin", "--baseline", "identity"], "(1, H, W) uint8"),
    (["challenge", "{d}/wrong_dtype.pkl", "-o", "{out}/p.bin", "--baseline", "identity"], "(1, H, W) uint8"),
    (["challenge", "{d}/mask_dtype.pkl", "-o", "{out}/p.bin", "--baseline", "identity"], "known array 0"),
    (["challenge", "{d}/lengths.pkl", "-o", "{out}/p.bin", "--baseline", "identity"], "2 images but 1"),
    (["challenge", "{d}/list.pkl", "-o", "{out}/p.bin", "--baseline", "identity"], "must hold a dict"),
    (["challenge", "{d}/ok.png", "-o", "{out}/p.bin", "--baseline", "identity"], "not a valid test set"),
    (["score", "{d}/bytes.bin", "{d}/ok.bin"], "truncated"),
    (["score", "{d}/empty.png", "{d}/ok.bin"], "empty"),
    (["make-testset", "{d}/ok.png", "-o", "{out}/t.pkl", "--targets", "{out}/t.bin"], "not found"),
    (["make-testset", "{d}", "-o", "{out}/t.pkl", "--targets", "{out}/t.bin", "--per-image", "0"], "at least 1"),
]


@pytest.mark.parametrize("args, message", CATALOGUE, ids=[f"{i:02d}" for i in range(len(CATALOGUE))])
def test_bad_input_ends_with_one_clear_line(files, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert main([a.format(d=files, out=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "PWNED_MARKER").exists()


def test_the_catalogue_is_large_enough():
    assert len(CATALOGUE) >= 40


@pytest.mark.parametrize("name", ["sixteen.png", "cmyk.jpg", "palette.png", "anim.gif", "rotated.jpg"])
def test_unusual_but_valid_images_work(files, tmp_path, name):
    assert main(["restore", str(files / name), "-o", str(tmp_path / "r.png"), "--box", "4,4,24,16", "--block", "4",
                 "--checkpoint", str(files / "ck")]) == 0  # fmt: skip
    with Image.open(files / name) as original, Image.open(tmp_path / "r.png") as restored:
        expected = (original.height, original.width) if name == "rotated.jpg" else original.size
        assert restored.size == expected


def test_a_float_image_is_restored_as_one():  # found by benchmarks/fuzz.py: its planes were read-only
    image = Image.fromarray(np.random.default_rng(0).random((40, 48), np.float32) * 255)
    pixelated = pixelate_region(image, box=(8, 8, 24, 24), block_size=8)
    restored = Depixelator(None).restore(pixelated, box=(8, 8, 24, 24), block_size=8)
    assert (restored.mode, restored.size) == ("F", (48, 40))


@pytest.fixture(scope="module")
def small_depixelator(files):
    return Depixelator.from_pretrained(files / "ck", device="cpu")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=fuzz.cases())
def test_fuzz_decode_and_restore(small_depixelator, tmp_path, case):
    """Random and damaged files and arrays, random regions, block sizes and offsets: InputError or a result.

    python -m benchmarks.fuzz --minutes N runs the same cases for longer.
    """
    with contextlib.suppress(InputError):
        fuzz.run_case(small_depixelator, case, tmp_path)
