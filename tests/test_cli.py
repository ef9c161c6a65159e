import pickle
import subprocess
import sys

import numpy as np
import pytest

from depix.challenge import score
from depix.cli import main
from depix.serialization import deserialize, load_test_set


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "depix", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_challenge_workflow_identity_end_to_end(photo_dir, tmp_path):
    test_set, targets, predictions = tmp_path / "test_set.pkl", tmp_path / "targets.bin", tmp_path / "p.bin"
    result = run_cli("make-testset", photo_dir, "-o", test_set, "--targets", targets, "--per-image", 3, "--seed", 1)
    assert result.returncode == 0, result.stderr
    data = load_test_set(test_set)
    assert len(data["pixelated_images"]) == 24
    assert all(i.shape == (1, 64, 64) for i in data["pixelated_images"])
    result = run_cli("challenge", test_set, "-o", predictions, "--baseline", "identity")
    assert result.returncode == 0, result.stderr
    result = run_cli("score", predictions, targets)
    assert result.returncode == 0, result.stderr
    # The score is the mean of per-image RMSEs between pixelated values and the true values.
    truth = deserialize(targets.read_bytes())
    direct = np.mean(
        [
            np.sqrt(np.mean((image[~known].astype(float) - target.astype(float)) ** 2))
            for image, known, target in zip(data["pixelated_images"], data["known_arrays"], truth, strict=True)
        ]
    )
    assert float(result.stdout) == pytest.approx(direct, abs=1e-4)
    assert direct > 1


def test_make_testset_is_reproducible(photo_dir, tmp_path):
    for name in ("a", "b"):
        assert main(["make-testset", str(photo_dir), "-o", str(tmp_path / f"{name}.pkl"), "--targets",
                     str(tmp_path / f"{name}.bin"), "--seed", "3"]) == 0  # fmt: skip
    assert (tmp_path / "a.pkl").read_bytes() == (tmp_path / "b.pkl").read_bytes()
    assert (tmp_path / "a.bin").read_bytes() == (tmp_path / "b.bin").read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["challenge", "{tmp}/missing.pkl", "-o", "{tmp}/p.bin", "--baseline", "identity"], "not found"),
        (["challenge", "{tmp}/bad.pkl", "-o", "{tmp}/p.bin", "--baseline", "identity"], "not a valid test set"),
        (["score", "{tmp}/missing.bin", "{tmp}/t.bin"], "not found"),
        (["score", "{tmp}/one.bin", "{tmp}/two.bin"], "1 predictions but 2 targets"),
        (["make-testset", "{tmp}/nowhere", "-o", "{tmp}/x.pkl", "--targets", "{tmp}/x.bin"], "not found"),
        (["challenge", "{tmp}/ok.pkl", "-o", "{tmp}/p.bin", "--checkpoint", "{tmp}/nockpt"], "checkpoint"),
    ],
)
def test_errors_are_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "bad.pkl").write_bytes(b"garbage")
    (tmp_path / "one.bin").write_bytes(bytes([0, 5]))
    (tmp_path / "two.bin").write_bytes(bytes([0, 5, 6]))
    known = np.ones((1, 64, 64), bool)
    known[0, :4, :4] = False
    (tmp_path / "ok.pkl").write_bytes(
        pickle.dumps({"pixelated_images": (np.zeros((1, 64, 64), np.uint8),), "known_arrays": (known,)})
    )
    result = run_cli(*[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_pixelate_and_restore_files_and_folders(tmp_path):
    from PIL import Image

    from depix.model import DepixNet, ModelConfig, save
    from tests.conftest import smooth_photo

    save(DepixNet(ModelConfig(base_channels=8, depth=2, convs_per_level=1, max_channels=16)), tmp_path / "ck")
    (tmp_path / "in").mkdir()
    for i in range(2):
        Image.fromarray(smooth_photo(np.random.default_rng(i), 90, 120)).save(tmp_path / "in" / f"p{i}.jpg")
    result = run_cli("pixelate", tmp_path / "in", "-o", tmp_path / "pix", "--box", "10,10,60,40", "--block", "6")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "pix").iterdir()) == ["p0.png", "p1.png"]
    result = run_cli("restore", tmp_path / "pix", "-o", tmp_path / "out", "--box", "10,10,60,40",
                     "--checkpoint", tmp_path / "ck")  # fmt: skip
    assert result.returncode == 0, result.stderr
    restored = Image.open(tmp_path / "out" / "p0.png")
    assert restored.size == (120, 90)
    result = run_cli("restore", tmp_path / "pix" / "p1.png", "-o", tmp_path / "one.png", "--box", "10,10,60,40",
                     "--block", "6", "--checkpoint", tmp_path / "ck")  # fmt: skip
    assert result.returncode == 0 and (tmp_path / "one.png").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--box", "0,0,500,10"], "not inside"),
        (["--box", "1,2"], "four whole numbers"),
        ([], "no pixelated region was found"),
        (["--box", "0,0,10,10", "--block", "1"], "between 2 and"),
        (["--box", "0,0,10,10", "--offset", "x"], "--offset"),
    ],
)
def test_restore_errors(tmp_path, args, message):
    from PIL import Image

    from depix.model import DepixNet, ModelConfig, save

    save(DepixNet(ModelConfig(base_channels=8, depth=2, convs_per_level=1, max_channels=16)), tmp_path / "ck")
    Image.new("RGB", (40, 30)).save(tmp_path / "a.png")
    result = run_cli("restore", tmp_path / "a.png", "-o", tmp_path / "b.png", "--checkpoint", tmp_path / "ck", *args)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_challenge_with_the_shipped_model_beats_identity_and_tta_is_the_default(photo_dir, tmp_path):
    test_set, targets = tmp_path / "test_set.pkl", tmp_path / "targets.bin"
    made = main(["make-testset", str(photo_dir), "-o", str(test_set), "--targets", str(targets), "--per-image", "4"])
    assert made == 0
    scores = {}
    for name, extra in (("identity", ["--baseline", "identity"]), ("tta", []), ("plain", ["--no-tta"])):
        assert main(["challenge", str(test_set), "-o", str(tmp_path / f"{name}.bin"), *extra]) == 0
        predicted = deserialize((tmp_path / f"{name}.bin").read_bytes())
        scores[name] = score(predicted, deserialize(targets.read_bytes()))
    assert scores["tta"] < 0.8 * scores["identity"] and scores["plain"] < 0.8 * scores["identity"]
    assert (tmp_path / "tta.bin").read_bytes() != (tmp_path / "plain.bin").read_bytes()
