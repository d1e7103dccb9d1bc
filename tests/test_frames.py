"""Frame order is the number in the file name; unreadable frames fail naming the file."""
from pathlib import Path

import numpy as np
import pytest

from mer_live.frames import (FrameReadError, frame_files, frame_number, read_frame, read_frames, sorted_frames,
                             write_frame)


@pytest.mark.parametrize("name, number", [("img46.jpg", 46), ("img100.jpg", 100), ("image046694.bmp", 46694),
                                          ("006_05562.jpg", 5562), ("reg_img7.jpg", 7)])
def test_frame_number_is_the_last_integer_of_the_name(name, number):
    assert frame_number(Path("/x/sub01/EP02_01f") / name) == number


def test_frame_without_number_is_refused():
    with pytest.raises(FrameReadError, match="cover.jpg"):
        frame_number("cover.jpg")


def test_sorted_frames_is_temporal_not_string_order():
    names = ["img100.jpg", "img46.jpg", "img9.jpg", "img10.jpg"]
    assert sorted(names) == ["img10.jpg", "img100.jpg", "img46.jpg", "img9.jpg"]  # the original code's (wrong) order
    assert [p.name for p in sorted_frames(names)] == ["img9.jpg", "img10.jpg", "img46.jpg", "img100.jpg"]


def test_write_then_read_keeps_rgb(tmp_path):
    frame = np.zeros((6, 8, 3), np.uint8)
    frame[..., 0] = 200  # red
    frame[2, 3] = (10, 20, 30)
    write_frame(tmp_path / "img1.png", frame)
    back = read_frame(tmp_path / "img1.png")
    np.testing.assert_array_equal(back, frame)
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, no temp left behind


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 20])
def test_corrupt_frame_names_the_file(tmp_path, content):
    bad = tmp_path / "img3.jpg"
    bad.write_bytes(content)
    with pytest.raises(FrameReadError, match="img3.jpg"):
        read_frame(bad)


def test_missing_frame_names_the_file(tmp_path):
    with pytest.raises(FrameReadError, match="img4.jpg"):
        read_frame(tmp_path / "img4.jpg")


def test_read_frames_stacks_in_given_order_and_refuses_mixed_sizes(tmp_path):
    a, b = np.full((4, 5, 3), 10, np.uint8), np.full((4, 5, 3), 90, np.uint8)
    write_frame(tmp_path / "img1.png", a)
    write_frame(tmp_path / "img2.png", b)
    clip = read_frames(sorted_frames(tmp_path.glob("*.png")))
    assert clip.shape == (2, 4, 5, 3) and clip[0, 0, 0, 0] == 10 and clip[1, 0, 0, 0] == 90
    write_frame(tmp_path / "img3.png", np.zeros((7, 5, 3), np.uint8))
    with pytest.raises(FrameReadError, match="img3.png"):
        read_frames(sorted_frames(tmp_path.glob("*.png")))


def test_frame_files_lists_visible_frames_of_the_extension_in_temporal_order(tmp_path):
    for name in ("img10.JPG", "img9.jpg", "._img8.jpg", ".img7.jpg", "img6.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "img5.jpg").mkdir()  # a folder is not a frame
    assert [p.name for p in frame_files(tmp_path, "jpg")] == ["img9.jpg", "img10.JPG"]
    assert [p.name for p in frame_files(tmp_path, ".JPG")] == ["img9.jpg", "img10.JPG"]
