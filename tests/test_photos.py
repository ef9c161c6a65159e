"""Tests of the training photo corpus builder (train.photos): no network, small synthetic archives."""

import bz2
import csv
import hashlib
import io
import shutil
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from train import photos

# ---------------------------------------------------------------------------------------------------------
# Helpers that make small archives


def photo_bytes(seed: int, size: tuple[int, int] = (320, 280), fmt: str = "PNG") -> bytes:
    """A smooth, photo-like image (random coarse pattern, upsampled) encoded as PNG or JPEG."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    image = coarse.resize(size, Image.Resampling.BICUBIC)
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def resized(blob: bytes, factor: float) -> bytes:
    """The same picture at another size, re-encoded as PNG."""
    image = Image.open(io.BytesIO(blob))
    image = image.resize((int(image.width * factor), int(image.height * factor)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_rcc(files: dict[str, bytes], compress: set[str] = frozenset(), version: int = 3) -> bytes:
    """A Qt binary resource file holding files (paths like 'a/b/c.png'); entries in compress use zlib."""
    # Build the directory tree, then lay nodes out breadth-first so each folder's children are contiguous.
    tree: dict = {}
    for path in files:
        node = tree
        parts = path.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = path
    nodes: list[tuple[str, object]] = [("", tree)]
    children_at: dict[int, tuple[int, int]] = {}
    index = 0
    while index < len(nodes):
        _, item = nodes[index]
        if isinstance(item, dict):
            children_at[index] = (len(nodes), len(item))
            nodes.extend(sorted(item.items()))
        index += 1

    names, data, tree_bytes = b"", b"", b""
    for index, (name, item) in enumerate(nodes):
        name_offset = len(names)
        encoded = name.encode("utf-16-be")
        names += struct.pack(">HI", len(name), 0) + encoded
        if isinstance(item, dict):
            first, count = children_at[index]
            tree_bytes += struct.pack(">IHII", name_offset if index else 0, 2, count, first)
        else:
            blob = files[item]
            flags = 0
            if item in compress:
                blob = struct.pack(">I", len(blob)) + zlib.compress(blob)
                flags = 1
            tree_bytes += struct.pack(">IHHHI", name_offset, flags, 0, 0, len(data))
            data += struct.pack(">I", len(blob)) + blob
        if version >= 2:
            tree_bytes += struct.pack(">Q", 0)
    header_size = 24 if version >= 3 else 20
    tree_offset = header_size
    data_offset = tree_offset + len(tree_bytes)
    names_offset = data_offset + len(data)
    header = b"qres" + struct.pack(">IIII", version, tree_offset, data_offset, names_offset)
    if version >= 3:
        header += struct.pack(">I", 0)
    return header + tree_bytes + data + names


def make_tar_gz(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A gzipped tar with './'-prefixed members, as in a .deb's data.tar, plus optional symlinks."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, blob in sorted(files.items()):
            info = tarfile.TarInfo("./" + name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        for name, target in sorted((links or {}).items()):
            info = tarfile.TarInfo("./" + name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return out.getvalue()


def make_deb(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A minimal Debian binary package (ar archive of debian-binary, control.tar.gz, data.tar.gz)."""
    control = b"Package: test-photos\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t\nDescription: t\n"
    members = [
        ("debian-binary", b"2.0\n"),
        ("control.tar.gz", make_tar_gz({"control": control})),
        ("data.tar.gz", make_tar_gz(files, links)),
    ]
    out = b"!<arch>\n"
    for name, blob in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(blob):<10}`\n".encode()
        out += header + blob + (b"\n" if len(blob) % 2 else b"")
    return out


COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: somebody
License: GPL-3+

Files: src/activities/zoo/resource/*
Copyright: photographer
License: CC-BY-SA-4.0
Comment: a later, more specific stanza wins

Files: src/activities/zoo/resource/lion.jpg
Copyright: other photographer
License: CC0-1.0
"""


@pytest.fixture
def corpus_sources(tmp_path):
    """A sources TOML listing a synthetic .deb (with a Qt resource inside) and a synthetic wheel."""
    base = photo_bytes(1)
    rcc = make_rcc(
        {
            "app/src/activities/zoo/resource/lion.webp": photo_bytes(2, fmt="PNG"),  # copyright says lion.jpg
            "app/src/activities/zoo/resource/tiger.png": photo_bytes(3),
            "app/src/activities/zoo/resource/icon.png": photo_bytes(4, size=(64, 64)),  # too small
            "app/src/activities/zoo/drawing.png": photo_bytes(5),  # not kept by the rules
        },
        compress={"app/src/activities/zoo/resource/tiger.png"},
    )
    deb = make_deb(
        {
            "usr/share/app/rcc/zoo.rcc": rcc,
            "usr/share/backgrounds/lake.jpg": photo_bytes(6, size=(400, 300), fmt="JPEG"),
            "usr/share/backgrounds/lake_copy.png": base,
            "usr/share/backgrounds/lake_small.png": resized(base, 0.8),  # near-duplicate of lake_copy
            "usr/share/backgrounds/logo.png": photo_bytes(7),
            "usr/share/doc/test-photos/copyright": COPYRIGHT.encode(),
        },
        links={"usr/share/backgrounds/link.png": "lake_copy.png"},
    )
    (tmp_path / "pkg.deb").write_bytes(deb)
    face = np.asarray(Image.open(io.BytesIO(photo_bytes(8, size=(300, 260)))).convert("RGB"))
    with zipfile.ZipFile(tmp_path / "pkg.whl", "w") as wheel:
        wheel.writestr("pkg/data/photo.jpg", photo_bytes(9, fmt="JPEG"))
        wheel.writestr("pkg/data/same.png", base)  # exact copy of the deb's lake_copy.png
        wheel.writestr("pkg/data/face.dat", bz2.compress(face.tobytes()))
        wheel.writestr("pkg/code.py", "print('not an image')")
    toml = tmp_path / "sources.toml"
    toml.write_text(
        """
[settings]
min_side = 200
val_percent = 10
near_duplicate_bits = 12

[[sources]]
name = "debpkg"
file = "pkg.deb"
version = "1.0-1"
containers = ["usr/share/app/rcc/*.rcc"]
copyright = "usr/share/doc/test-photos/copyright"
copyright_paths = { "usr/share/app/rcc/*.rcc!app/" = "" }
copyright_alt_exts = [".jpg"]
keep = ["*.rcc!app/src/activities/zoo/resource/*", "usr/share/backgrounds/*"]
drop = ["*/logo.png"]

[[sources]]
name = "wheel"
file = "pkg.whl"
version = "2.0"
licence = "MIT"
licences = { "*/photo.jpg" = "CC0-1.0" }
keep = ["pkg/data/*"]
raw = [{ path = "pkg/data/face.dat", compression = "bz2", width = 300, height = 260, mode = "RGB" }]
"""
    )
    return toml


def run_main(args: list[str]) -> int:
    return photos.main([str(a) for a in args])


def manifest_rows(out: Path) -> list[dict[str, str]]:
    with (out / "manifest.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------------------------------------------------
# Extraction


@pytest.mark.parametrize("version", [1, 2, 3])
def test_qt_resource_files_are_read_back_unchanged(version):
    files = {"a/b/one.png": photo_bytes(1), "a/two.jpg": photo_bytes(2, fmt="JPEG"), "top.webp": b"xyz" * 50}
    rcc = make_rcc(files, compress={"a/two.jpg"}, version=version)
    assert dict(photos.read_qt_resources(rcc)) == files


def test_qt_resource_reader_rejects_other_files():
    with pytest.raises(ValueError):
        list(photos.read_qt_resources(b"PK\x03\x04 not a resource file"))


@pytest.mark.parametrize("use_dpkg", [False, True])
def test_deb_members_include_nested_resources_and_skip_links(tmp_path, monkeypatch, use_dpkg):
    if use_dpkg and not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb not installed")
    if not use_dpkg:
        monkeypatch.setattr(photos.shutil, "which", lambda name: None)
    rcc = make_rcc({"x/inner.png": photo_bytes(1), "x/skip.txt": b"text"})
    deb = tmp_path / "p.deb"
    files = {"usr/a.png": photo_bytes(2), "usr/r/res.rcc": rcc}
    deb.write_bytes(make_deb(files, links={"usr/b.png": "a.png"}))
    found = dict(photos.iter_members(deb, lambda p: p.endswith(".png"), containers=["usr/r/*.rcc"]))
    assert sorted(found) == ["usr/a.png", "usr/r/res.rcc!x/inner.png"]
    assert found["usr/r/res.rcc!x/inner.png"] == photo_bytes(1)


def test_zip_and_folder_members(tmp_path):
    archive = tmp_path / "w.whl"
    with zipfile.ZipFile(archive, "w") as wheel:
        wheel.writestr("p/img.png", b"1")
        wheel.writestr("p/t.tar.gz", make_tar_gz({"deep/img.png": b"2"}))
    found = dict(photos.iter_members(archive, lambda p: p.endswith(".png"), containers=["*.tar.gz"]))
    assert found == {"p/img.png": b"1", "p/t.tar.gz!deep/img.png": b"2"}
    folder = tmp_path / "dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "b.png").write_bytes(b"b")
    (folder / "a.png").write_bytes(b"a")
    assert list(photos.iter_members(folder, lambda p: True)) == [("a.png", b"a"), ("sub/b.png", b"b")]


def test_copyright_file_gives_per_file_licences():
    parsed = photos.CopyrightFile.parse(COPYRIGHT)
    assert parsed.licence_for(["src/other.png"]) == "GPL-3+"
    assert parsed.licence_for(["src/activities/zoo/resource/tiger.png"]) == "CC-BY-SA-4.0"
    paths = photos._copyright_paths(
        "usr/share/app/rcc/zoo.rcc!app/src/activities/zoo/resource/lion.webp",
        {"usr/share/app/rcc/*.rcc!app/": ""},
        [".jpg"],
    )
    assert paths == ["src/activities/zoo/resource/lion.webp", "src/activities/zoo/resource/lion.jpg"]
    assert parsed.licence_for(paths) == "CC0-1.0"


# ---------------------------------------------------------------------------------------------------------
# Deduplication and split


def fake_photo(name: str, sha: str, dhash: str, size: int, order: int = 0) -> photos.Photo:
    return photos.Photo("src", "1", name, f"staged/{sha}.png", sha, size, size, "CC0-1.0", dhash, order)


def test_deduplicate_keeps_the_largest_of_exact_and_near_copies():
    a = fake_photo("a.png", "aa" * 32, "0" * 64, 300)
    a_copy = fake_photo("a_copy.png", "aa" * 32, "0" * 64, 300)
    a_big = fake_photo("a_big.png", "bb" * 32, "0" * 62 + "07", 900)  # 3 bits away: near copy, larger
    other = fake_photo("other.png", "cc" * 32, "f" * 64, 300)
    for ordering in ([a, a_copy, a_big, other], [other, a_big, a_copy, a]):
        kept, dropped = photos.deduplicate(ordering, max_bits=12)
        assert sorted(p.original_path for p in kept) == ["a_big.png", "other.png"]
        assert sorted(d.original_path for d, _ in dropped) == ["a.png", "a_copy.png"]


def test_difference_hash_sees_a_resized_copy_as_near_and_another_photo_as_far():
    one, other = (Image.open(io.BytesIO(photo_bytes(s))) for s in (1, 2))
    small = Image.open(io.BytesIO(resized(photo_bytes(1), 0.5)))
    h1, h2, hs = (photos.difference_hash(i) for i in (one, other, small))
    assert photos.hamming(h1, hs) <= 12 < photos.hamming(h1, h2)


def test_split_is_fixed_per_photo_and_about_ten_percent():
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4000)]
    splits = [photos.split_of(s, 10) for s in shas]
    assert splits == [photos.split_of(s, 10) for s in shas]
    assert 0.08 < splits.count("val") / len(splits) < 0.12
    assert photos.split_of(shas[0], 0) == "train" and photos.split_of(shas[0], 100) == "val"


# ---------------------------------------------------------------------------------------------------------
# Whole builds


def test_build_extracts_filters_dedups_and_writes_a_stable_manifest(tmp_path, corpus_sources, capsys):
    out, cache = tmp_path / "data" / "photos", tmp_path / "data" / "cache"
    assert run_main(["--sources", corpus_sources, "--out", out]) == 0
    rows = manifest_rows(out)
    assert list(rows[0]) == photos.COLUMNS
    by_original = {r["original_path"]: r for r in rows}
    assert sorted(by_original) == sorted(
        [
            "usr/share/app/rcc/zoo.rcc!app/src/activities/zoo/resource/lion.webp",
            "usr/share/app/rcc/zoo.rcc!app/src/activities/zoo/resource/tiger.png",
            "usr/share/backgrounds/lake.jpg",
            "usr/share/backgrounds/lake_copy.png",  # beats its smaller near copy and the wheel's exact copy
            "pkg/data/photo.jpg",
            "pkg/data/face.dat",
        ]
    )
    zoo = "usr/share/app/rcc/zoo.rcc!app/src/activities/zoo/resource/"
    assert by_original[zoo + "lion.webp"]["licence"] == "CC0-1.0"
    assert by_original[zoo + "tiger.png"]["licence"] == "CC-BY-SA-4.0"
    assert by_original["usr/share/backgrounds/lake.jpg"]["licence"] == "GPL-3+"
    assert by_original["pkg/data/photo.jpg"]["licence"] == "CC0-1.0"
    assert by_original["pkg/data/face.dat"]["licence"] == "MIT"
    assert by_original["pkg/data/face.dat"]["path"].endswith(".png")
    assert {r["source"] for r in rows} == {f"file:{tmp_path / 'pkg.deb'}", f"file:{tmp_path / 'pkg.whl'}"}
    for row in rows:
        stored = (out / row["path"]).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == row["sha256"]
        assert Image.open(out / row["path"]).size == (int(row["width"]), int(row["height"]))
        assert row["split"] == photos.split_of(row["sha256"], 10)
    # JPEG and PNG bytes are stored unchanged.
    assert (out / by_original["usr/share/backgrounds/lake.jpg"]["path"]).read_bytes() == photo_bytes(
        6, size=(400, 300), fmt="JPEG"
    )
    assert "duplicate:" in capsys.readouterr().out

    first = (out / "manifest.csv").read_bytes()
    staged = sorted(p.stat().st_mtime_ns for p in (cache / "staged").rglob("*"))
    assert run_main(["--sources", corpus_sources, "--out", out]) == 0
    assert (out / "manifest.csv").read_bytes() == first
    assert sorted(p.stat().st_mtime_ns for p in (cache / "staged").rglob("*")) == staged  # cache reused

    # A fresh output folder and a fresh cache give the same bytes too.
    shutil.rmtree(out)
    shutil.rmtree(cache)
    assert run_main(["--sources", corpus_sources, "--out", out]) == 0
    assert (out / "manifest.csv").read_bytes() == first


def test_rules_change_removes_only_files_of_the_old_manifest(tmp_path, corpus_sources):
    out = tmp_path / "photos"
    assert run_main(["--sources", corpus_sources, "--out", out]) == 0
    mine = out / "notes.txt"
    mine.write_text("keep me")
    before = {r["path"] for r in manifest_rows(out)}
    assert run_main(["--sources", corpus_sources, "--out", out, "--only", "wheel"]) == 0
    after = {r["path"] for r in manifest_rows(out)}
    assert after and not any(p.startswith("debpkg/") for p in after)
    assert all((out / p).is_file() for p in after)
    assert not any((out / p).exists() for p in before - after)
    assert mine.read_text() == "keep me"


def test_add_folder_with_licence(tmp_path, corpus_sources):
    mine = tmp_path / "my photos"
    (mine / "trip").mkdir(parents=True)
    (mine / "trip" / "beach.jpg").write_bytes(photo_bytes(20, fmt="JPEG"))
    (mine / "tiny.png").write_bytes(photo_bytes(21, size=(40, 40)))
    (mine / "readme.txt").write_text("not a photo")
    out = tmp_path / "out"
    args = ["--sources", corpus_sources, "--out", out, "--no-listed", "--add", mine]
    with pytest.raises(SystemExit):
        run_main(args)  # no licence given
    assert run_main([*args, "--licence", "CC-BY-4.0"]) == 0
    rows = manifest_rows(out)
    assert [(r["original_path"], r["licence"], r["source"]) for r in rows] == [
        ("trip/beach.jpg", "CC-BY-4.0", "dir:my photos")
    ]
    assert rows[0]["path"].startswith("add-my_photos/beach-")


def fake_snapshot(root: Path, licence_line: str = "license: cc0-1.0") -> Path:
    snapshot = root / "datasets--someone--pics" / "snapshots" / "0123abcd"
    (snapshot / "images").mkdir(parents=True, exist_ok=True)
    (snapshot / "images" / "a.jpg").write_bytes(photo_bytes(30, fmt="JPEG"))
    (snapshot / "images" / "b.png").write_bytes(photo_bytes(31))
    (snapshot / "README.md").write_text(f"---\n{licence_line}\ntask_categories: []\n---\n# Pics\n")
    return snapshot


def test_hub_dataset_images_become_photos(tmp_path, corpus_sources, monkeypatch):
    calls = []

    def download(repo_id: str, cache_dir: Path) -> Path:
        calls.append(repo_id)
        return fake_snapshot(tmp_path / "hub")

    monkeypatch.setattr(photos, "hf_snapshot", download)
    out = tmp_path / "out"
    assert run_main(["--sources", corpus_sources, "--out", out, "--no-listed", "--hf", "someone/pics"]) == 0
    rows = manifest_rows(out)
    assert calls == ["someone/pics"]
    assert sorted(r["original_path"] for r in rows) == ["images/a.jpg", "images/b.png"]
    described = {(r["source"], r["version"], r["licence"]) for r in rows}
    assert described == {("hf:someone/pics", "0123abcd", "cc0-1.0")}


def test_hub_dataset_without_licence_needs_one(tmp_path, corpus_sources, monkeypatch, capsys):
    monkeypatch.setattr(photos, "hf_snapshot", lambda repo_id, cache_dir: fake_snapshot(tmp_path / "hub", ""))
    out = tmp_path / "out"
    args = ["--sources", corpus_sources, "--out", out, "--no-listed", "--hf", "someone/pics"]
    assert run_main(args) == 1
    assert "--licence" in capsys.readouterr().err
    assert run_main([*args, "--licence", "CC-BY-4.0"]) == 0
    assert {r["licence"] for r in manifest_rows(out)} == {"CC-BY-4.0"}


def test_hub_offline_is_one_clear_line(tmp_path, corpus_sources, monkeypatch, capsys):
    def offline(repo_id: str, cache_dir: Path) -> Path:
        raise OSError("We have no connection or you passed local_files_only.\nmore detail\nand more")

    monkeypatch.setattr(photos, "hf_snapshot", offline)
    out = tmp_path / "out"
    # The listed sources are still built.
    assert run_main(["--sources", corpus_sources, "--out", out, "--hf", "someone/pics"]) == 0
    err = capsys.readouterr().err
    hub_lines = [line for line in err.splitlines() if "someone/pics" in line]
    assert len(hub_lines) == 1 and "offline" in hub_lines[0]
    assert run_main(["--sources", corpus_sources, "--out", out, "--no-listed", "--hf", "someone/pics"]) == 1
    assert "no photos" in capsys.readouterr().err


def test_unavailable_sources_are_skipped_in_one_line(tmp_path, monkeypatch, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text('[[sources]]\nname = "x"\ndebian = "some-package"\nlicence = "CC0-1.0"\n')
    monkeypatch.setattr(photos.shutil, "which", lambda name: None)
    assert run_main(["--sources", toml, "--out", tmp_path / "out"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "skip debian:some-package: apt-get not found (not a Debian-like system)",
        "error: no photos could be built from any source",
    ]


def test_npm_package_from_the_cache_builds_without_npm(tmp_path, monkeypatch):
    # npm pack stores a scoped package @scope/name as scope-name-version.tgz with files under package/.
    cache = tmp_path / "out" / "cache" / "npm"
    cache.mkdir(parents=True)
    tarball = make_tar_gz({"package/demo/a.jpg": photo_bytes(11, fmt="JPEG"), "package/index.js": b"1"})
    (cache / "scope-demo-1.2.3.tgz").write_bytes(tarball)
    toml = tmp_path / "s.toml"
    toml.write_text('[[sources]]\nname = "d"\nnpm = "@scope/demo==1.2.3"\nlicence = "MIT"\nkeep = ["package/demo/*"]\n')
    monkeypatch.setattr(photos.shutil, "which", lambda name: None)  # nothing is downloaded
    assert run_main(["--sources", toml, "--out", tmp_path / "out", "--cache", cache.parent]) == 0
    [row] = manifest_rows(tmp_path / "out")
    assert (row["source"], row["version"], row["original_path"]) == ("npm:@scope/demo", "1.2.3", "package/demo/a.jpg")


def test_npm_source_needs_npm_and_a_pinned_version(tmp_path, monkeypatch, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text('[[sources]]\nname = "d"\nnpm = "demo==1.0.0"\nlicence = "MIT"\nkeep = ["*"]\n')
    monkeypatch.setattr(photos.shutil, "which", lambda name: None)
    assert run_main(["--sources", toml, "--out", tmp_path / "out"]) == 1
    assert "skip npm:demo: npm not found (apt-get install npm)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="must pin a version"):
        photos.fetch_npm("demo", tmp_path)


def test_preview_is_a_contact_sheet(tmp_path, corpus_sources):
    out, sheet = tmp_path / "out", tmp_path / "sheet.png"
    assert run_main(["--sources", corpus_sources, "--out", out, "--preview", sheet]) == 0
    image = Image.open(sheet)
    assert image.width >= 8 * 160 and image.height >= 160


def test_review_sheets_show_every_candidate(tmp_path, corpus_sources):
    folder = tmp_path / "review"
    assert run_main(["--sources", corpus_sources, "--out", tmp_path / "out", "--review", folder]) == 0
    listing = (folder / "debpkg.txt").read_text()
    assert "drop" in listing and "logo.png" in listing and (folder / "debpkg-1.png").is_file()


def test_listed_sources_are_well_formed():
    settings, sources = photos.load_sources(photos.SOURCES_FILE)
    assert settings["val_percent"] == 10
    assert len(sources) >= 10
    for source in sources:
        assert source.kind in ("debian", "pypi", "npm")
        assert source.rules.get("keep"), source.name
        assert source.rules.get("licence") or source.rules.get("copyright"), source.name
        if source.kind in ("pypi", "npm"):
            assert "==" in source.ref, source.name


def test_unreadable_archive_is_skipped_in_one_line(tmp_path, corpus_sources, capsys):
    (tmp_path / "pkg.whl").write_bytes(b"PK\x03\x04 this is not really a zip file")
    out = tmp_path / "out"
    assert run_main(["--sources", corpus_sources, "--out", out]) == 0  # the .deb still builds
    err = [line for line in capsys.readouterr().err.splitlines() if "pkg.whl" in line]
    assert len(err) == 1 and err[0].startswith("skip file:") and "cannot read pkg.whl" in err[0]
    assert all(r["source"].endswith("pkg.deb") for r in manifest_rows(out))
