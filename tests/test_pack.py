import csv
import hashlib

from PIL import Image

from train.pack import main
from train.views import read_manifest


def test_pack_shrinks_photos_and_keeps_the_manifest_rows(photo_dir, tmp_path):
    big = Image.new("RGB", (900, 300), (10, 200, 30))
    big.save(photo_dir / "big.png")
    with (photo_dir / "manifest.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows.append({"path": "big.png", "split": "train"})
    with (photo_dir / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    assert main([str(tmp_path / "pack"), "--manifest", str(photo_dir / "manifest.csv"), "--max-side", "256"]) == 0
    with (tmp_path / "pack" / "manifest.csv").open(newline="") as f:
        packed = list(csv.DictReader(f))
    assert [r["split"] for r in packed] == [r["split"] for r in rows]
    for row in packed:
        path = tmp_path / "pack" / row["path"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        with Image.open(path) as image:
            assert max(image.size) <= 256 and image.format == "JPEG"
            assert image.size == (int(row["width"]), int(row["height"]))
    assert packed[-1]["width"] == "256" and packed[-1]["height"] == "85"
    assert len(read_manifest(tmp_path / "pack" / "manifest.csv", "train")) == sum(r["split"] == "train" for r in rows)


def test_pack_without_a_corpus_says_how_to_build_it(tmp_path, capsys):
    assert main([str(tmp_path / "pack"), "--manifest", str(tmp_path / "none.csv")]) == 1
    assert "python -m train.photos" in capsys.readouterr().err
