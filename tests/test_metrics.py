"""Confusion matrix, Acc, UAR and UF1 as the MEGC protocol defines them."""
import numpy as np
import pytest

from mer_live.metrics import confusion_matrix, scores, scores_from_predictions


def test_confusion_matrix_rows_are_truth_columns_predictions():
    cm = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3)
    np.testing.assert_array_equal(cm, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])


def test_scores_by_hand():
    # truth 0,0,1,2,2,2 / pred 0,1,1,2,0,2
    s = scores(confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3))
    assert s["acc"] == pytest.approx(4 / 6)
    assert s["recall"] == pytest.approx([1 / 2, 1.0, 2 / 3])
    assert s["uar"] == pytest.approx((1 / 2 + 1 + 2 / 3) / 3)
    # F1 = 2TP / (2TP + FP + FN): class0 2/(2+1+1), class1 2/(2+1+0), class2 4/(4+0+1)
    assert s["f1"] == pytest.approx([0.5, 2 / 3, 0.8])
    assert s["uf1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)


def test_uar_and_uf1_weigh_classes_equally():
    truth = [0] * 90 + [1] * 10
    always_zero = scores_from_predictions(truth, [0] * 100, 2)
    assert always_zero["acc"] == pytest.approx(0.9)
    assert always_zero["uar"] == pytest.approx(0.5)
    assert always_zero["uf1"] == pytest.approx((2 * 90 / (180 + 10) + 0.0) / 2)


def test_class_absent_from_truth_and_prediction_is_left_out():
    s = scores(confusion_matrix([0, 1, 1], [0, 1, 1], 3))
    assert s["f1"][2] is None and s["recall"][2] is None
    assert s["uf1"] == pytest.approx(1.0) and s["uar"] == pytest.approx(1.0)


def test_class_predicted_but_never_true_scores_zero_f1():
    s = scores(confusion_matrix([0, 0], [0, 2], 3))
    assert s["f1"][2] == 0.0 and s["recall"][2] is None
    assert s["uf1"] == pytest.approx((2 / 3 + 0.0) / 2)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix([0, 1], [0], 3)


def test_original_convention_counts_undefined_classes_as_zero():
    """The original code's meter.py: the mean runs over ALL classes, 0/0 counting 0."""
    cm = confusion_matrix([0, 1, 1], [0, 1, 1], 3)          # class 2 absent from truth and prediction
    s = scores(cm, absent="zero")
    assert s["uf1"] == pytest.approx(2 / 3) and s["uar"] == pytest.approx(2 / 3)
    assert s["f1"][2] is None and s["acc"] == pytest.approx(1.0)
    assert scores(cm)["uf1"] == pytest.approx(1.0)        # the default still leaves it out
    with pytest.raises(ValueError, match="absent"):
        scores(cm, absent="drop")
