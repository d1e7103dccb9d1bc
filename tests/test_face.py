"""One square crop box per clip: the margin policy, and MTCNN finding the bundled face."""
import numpy as np
import pytest

from mer_live.face import DEFAULT_MARGIN, FaceDetector, crop, crop_box, original_box, square_box


def test_square_box_is_centred_with_the_margin():
    box = square_box((100, 50, 140, 110), (480, 640), margin=0.2)  # w 40, h 60
    x1, y1, x2, y2 = box
    assert x2 - x1 == y2 - y1 == 72  # max(w, h) * 1.2
    assert ((x1 + x2) / 2, (y1 + y2) / 2) == (120, 80)
    assert all(isinstance(v, int) for v in box)
    assert square_box((100, 50, 140, 110), (480, 640), margin=0.2) == box  # deterministic


def test_square_box_is_shifted_not_shrunk_at_the_border():
    x1, y1, x2, y2 = square_box((0, 0, 40, 40), (100, 100), margin=0.5)
    assert (x1, y1, x2, y2) == (0, 0, 60, 60)
    x1, y1, x2, y2 = square_box((80, 70, 100, 100), (100, 120), margin=0.0)
    assert (x2 - x1, y2 - y1) == (30, 30) and y2 == 100 and x1 == 75


def test_square_box_never_exceeds_the_frame():
    # side capped at the shorter side (100); centre (50, 72.5) -> top 22.5 shifted up to 20
    assert square_box((5, 5, 95, 140), (120, 100), margin=0.5) == (0, 20, 100, 120)


def test_square_box_refuses_bad_input():
    with pytest.raises(ValueError, match="x2 > x1"):
        square_box((10, 10, 5, 20), (100, 100))
    with pytest.raises(ValueError, match="margin"):
        square_box((10, 10, 20, 20), (100, 100), margin=-0.1)


def test_original_box_is_the_detector_rectangle_truncated_as_the_original_code():
    # the original's prepare.py: int() of each corner, the rectangle as it is (w 41.2, h 61.6: not square)
    assert original_box((20.7, 9.2, 61.9, 70.8), (96, 128)) == (20, 9, 61, 70)
    assert crop_box((20.7, 9.2, 61.9, 70.8), (96, 128), "original") == (20, 9, 61, 70)
    # a corner outside the frame is clamped (the original's negative index wrapped around the image)
    assert original_box((-3.5, 2.0, 140.2, 50.0), (96, 128)) == (0, 2, 128, 50)
    assert crop_box((100, 50, 140, 110), (480, 640)) == square_box((100, 50, 140, 110), (480, 640))
    with pytest.raises(ValueError, match="unknown crop"):
        crop_box((1, 1, 5, 5), (10, 10), "round")


def test_crop_takes_the_box_pixels():
    frame = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    out = crop(frame, (2, 3, 7, 8))
    np.testing.assert_array_equal(out, frame[3:8, 2:7])
    with pytest.raises(ValueError, match="not inside"):
        crop(frame, (8, 0, 14, 6))


@pytest.fixture(scope="module")
def detector():
    return FaceDetector(device="cpu")


def test_mtcnn_finds_the_astronaut_face(detector):
    from skimage import data

    face = detector.detect(data.astronaut())
    assert face is not None and face.prob > 0.9
    np.testing.assert_allclose(face.box, (181, 62, 268, 172), atol=4)
    x1, y1, x2, y2 = face.box
    assert face.landmarks.shape == (5, 2)
    assert ((face.landmarks[:, 0] > x1) & (face.landmarks[:, 0] < x2)).all()
    assert ((face.landmarks[:, 1] > y1) & (face.landmarks[:, 1] < y2)).all()
    assert face.landmarks[0, 1] < face.landmarks[3, 1]  # eyes above mouth
    x1, _, x2, _ = square_box(face.box, (512, 512), DEFAULT_MARGIN)
    assert abs((x2 - x1) - 110 * (1 + DEFAULT_MARGIN)) <= 3


def test_no_face_gives_none(detector):
    rng = np.random.default_rng(0)
    assert detector.detect(np.full((96, 128, 3), 128, np.uint8)) is None
    assert detector.detect_many([rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)]) == [None]
