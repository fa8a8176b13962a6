"""Forward operators of restoration (issue 29): adjoints, known answers and
errors."""

import numpy as np
import pytest
from scipy import ndimage

from sksm.posterior import Blur, Compose, Mask


def _psf(shape, seed=0):
    return np.random.default_rng(seed).random(shape)


@pytest.mark.parametrize("psf_shape", [(1, 1), (3, 3), (5, 2), (4, 7),
                                       (9, 9)])
@pytest.mark.parametrize("image_shape", [(9, 9), (12, 17)])
def test_blur_adjoint(psf_shape, image_shape):
    """<A x, y> = <x, A^T y> for odd, even and one-pixel point-spread
    functions."""
    rng = np.random.default_rng(1)
    op = Blur(_psf(psf_shape))
    x, y = rng.standard_normal((2,) + image_shape)
    assert op.apply(x).shape == image_shape
    assert np.vdot(op.apply(x), y) == pytest.approx(
        np.vdot(x, op.adjoint(y)), rel=1e-12)


@pytest.mark.parametrize("psf_shape", [(3, 3), (5, 7), (1, 9)])
def test_blur_is_scipy_convolution_with_mirrored_edges(psf_shape):
    """Odd point-spread functions: scipy.ndimage.convolve with 'reflect'
    (d c b a | a b c d) is the same convolution, centred the same way."""
    x = np.random.default_rng(2).random((20, 23))
    psf = _psf(psf_shape, 3)
    np.testing.assert_allclose(Blur(psf).apply(x),
                               ndimage.convolve(x, psf, mode="reflect"),
                               rtol=1e-10, atol=1e-12)


def test_blur_known_answers():
    """A shifted delta shifts the image; a normalised blur keeps a constant
    image and the mean of any image's interior."""
    x = np.random.default_rng(4).random((10, 11))
    delta = np.zeros((3, 3))
    delta[1, 0] = 1          # x_{i - k} with k = (0, -1): from the right
    np.testing.assert_allclose(Blur(delta).apply(x)[:, :-1], x[:, 1:],
                               atol=1e-12)
    box = np.full((5, 5), 1 / 25)
    np.testing.assert_allclose(Blur(box).apply(np.full((8, 8), 0.3)), 0.3,
                               rtol=1e-12)
    assert Blur(box).reach == 2 and Blur(np.ones((4, 6))).reach == 3


def test_mask_and_compose_adjoints_and_reach():
    rng = np.random.default_rng(5)
    mask = rng.random((11, 13)) < 0.6
    blur = Blur(_psf((5, 3), 6))
    op = Compose(Mask(mask), blur)          # blur first, then lose pixels
    x, y = rng.standard_normal((2, 11, 13))
    np.testing.assert_array_equal(op.apply(x),
                                  np.where(mask, blur.apply(x), 0))
    assert np.vdot(op.apply(x), y) == pytest.approx(
        np.vdot(x, op.adjoint(y)), rel=1e-12)
    assert op.reach == 2
    np.testing.assert_array_equal(Mask(mask.astype(int)).mask, mask)


def test_operators_leave_their_inputs_alone():
    rng = np.random.default_rng(7)
    x = rng.random((9, 9))
    kept = x.copy()
    psf = _psf((3, 3))
    psf_kept = psf.copy()
    op = Blur(psf)
    op.apply(x)
    op.adjoint(x)
    Mask(x > 0.5).apply(x)
    np.testing.assert_array_equal(x, kept)
    np.testing.assert_array_equal(psf, psf_kept)


@pytest.mark.parametrize("psf, match", [
    (np.ones(3), "2-D"),
    (np.ones((0, 3)), "non-empty"),
    (np.array([[1.0, np.nan]]), "finite"),
    ("gaussian", "numbers"),
])
def test_blur_refuses_a_bad_psf(psf, match):
    with pytest.raises(ValueError, match=match):
        Blur(psf)


def test_blur_refuses_an_image_smaller_than_its_reach():
    with pytest.raises(ValueError, match="smaller than half"):
        Blur(np.ones((9, 9))).apply(np.ones((3, 20)))
    with pytest.raises(ValueError, match="one 2-D image"):
        Blur(np.ones((3, 3))).apply(np.ones((2, 5, 5)))


def test_mask_and_compose_refuse_bad_arguments():
    with pytest.raises(TypeError, match="boolean"):
        Mask(np.full((3, 3), 0.5))
    with pytest.raises(ValueError, match="2-D"):
        Mask(np.ones(3, bool))
    with pytest.raises(ValueError, match="shape"):
        Mask(np.ones((3, 3), bool)).apply(np.ones((3, 4)))
    with pytest.raises(TypeError, match="apply"):
        Compose(Mask(np.ones((3, 3), bool)), object())
    with pytest.raises(TypeError, match="at least one"):
        Compose()
