import os
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from depix.errors import InputError
from depix.serialization import deserialize, load_test_set, serialize


def test_byte_layout_by_hand():
    predictions = [np.array([1, 2, 3], np.uint8), np.array([255], np.uint8)]
    # max length 3: ceil(log2(3) / 8) = 1 length byte; lengths stored minus one.
    assert serialize(predictions) == bytes([1, 2, 1, 2, 3, 0, 255])


def test_two_length_bytes_past_256():
    data = serialize([np.zeros(257, np.uint8), np.ones(1, np.uint8)])
    assert data[:3] == bytes([2, 1, 0]) and data[3 + 257 : 3 + 257 + 2] == bytes([0, 0])
    assert serialize([np.zeros(256, np.uint8)])[:2] == bytes([1, 255])


@given(st.lists(arrays(np.uint8, st.integers(1, 700)), min_size=1, max_size=6))
def test_round_trip(predictions):
    back = deserialize(serialize(predictions))
    assert len(back) == len(predictions)
    for a, b in zip(back, predictions, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.uint8


@pytest.mark.parametrize(
    "bad, error",
    [
        ([np.zeros(3, np.int32)], TypeError),
        ([np.zeros((2, 2), np.uint8)], ValueError),
        ([[1, 2, 3]], TypeError),
        ([], ValueError),
        ([np.zeros(0, np.uint8)], ValueError),
        (np.zeros(3, np.uint8), TypeError),
    ],
)
def test_serialize_rejects(bad, error):
    with pytest.raises(error):
        serialize(bad)


def test_deserialize_truncated():
    with pytest.raises(InputError, match="truncated"):
        deserialize(serialize([np.arange(10, dtype=np.uint8)])[:-1])


def write_test_set(path, images, knowns, protocol=4):
    path.write_bytes(pickle.dumps({"pixelated_images": images, "known_arrays": knowns}, protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_load_valid_test_set(tmp_path, protocol):
    images = tuple(np.full((1, 64, 64), i, np.uint8) for i in range(3))
    knowns = tuple(np.ones((1, 64, 64), bool) for _ in range(3))
    for k in knowns:
        k[0, 3:9, 4:20] = False
    data = load_test_set(write_test_set(tmp_path / "t.pkl", images, knowns, protocol))
    assert len(data["pixelated_images"]) == 3
    np.testing.assert_array_equal(data["known_arrays"][1], knowns[1])


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_refuses_pickle_that_runs_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"pixelated_images": (RunsCode(marker),), "known_arrays": ()}))
    with pytest.raises(InputError, match="refusing to load"):
        load_test_set(path)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the same file with plain pickle does run the code: the test can fail
    assert marker.exists()


@pytest.mark.parametrize(
    "images, knowns, message",
    [
        ((np.zeros((64, 64), np.uint8),), (np.zeros((64, 64), bool),), "must be a \\(1, H, W\\) uint8"),
        ((np.zeros((1, 8, 8), np.float32),), (np.zeros((1, 8, 8), bool),), "uint8"),
        ((np.zeros((1, 8, 8), np.uint8),), (np.zeros((1, 8, 9), bool),), "known array 0"),
        ((np.zeros((1, 8, 8), np.uint8),), (np.zeros((1, 8, 8), np.uint8),), "known array 0"),
        ((np.zeros((1, 8, 8), np.uint8),), (), "1 images but 0 known"),
        ((np.zeros((1, 8, 8), np.uint8),), (np.ones((1, 8, 8), bool),), "no unknown pixel"),
        ((), (), "empty"),
    ],
)
def test_rejects_bad_arrays(tmp_path, images, knowns, message):
    with pytest.raises(InputError, match=message):
        load_test_set(write_test_set(tmp_path / "t.pkl", images, knowns))


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps([1, 2]), pickle.dumps({"a": 1})])
def test_rejects_other_files(tmp_path, content):
    (tmp_path / "t.pkl").write_bytes(content)
    with pytest.raises(InputError):
        load_test_set(tmp_path / "t.pkl")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_test_set(tmp_path / "nope.pkl")
