"""Forward operators of restoration (issue 29): adjoints, known answers and
errors."""

import numpy as np
import pytest
from scipy import ndimage

from sksm.posterior import Blur, Compose, Downsample, Mask
from sksm.posterior._operators import fast_shape


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


# ---------------------------------------------------------------------- #
# Downsample
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("kernel", ["bicubic", "box", "gaussian",
                                    "custom"])
def test_downsample_adjoint(factor, kernel):
    rng = np.random.default_rng(8)
    if kernel == "custom":       # a length of the factor's parity
        kernel = rng.random(factor + 4)
    op = Downsample(factor, kernel)
    x = rng.standard_normal((6 * factor, 5 * factor))
    y = rng.standard_normal((6, 5))
    assert op.apply(x).shape == (6, 5)
    assert op.adjoint(y).shape == x.shape
    assert np.vdot(op.apply(x), y) == pytest.approx(
        np.vdot(x, op.adjoint(y)), rel=1e-12)
    assert op.weights.sum() == pytest.approx(1)


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_downsample_is_pillow_resize_away_from_the_edges(factor):
    """'box' and 'bicubic' are Pillow's Image.resize filters; Pillow
    renormalises its kernel at the edges where we mirror the image, so
    bicubic is compared where the kernel lies inside the image."""
    Image = pytest.importorskip("PIL.Image")
    x = np.random.default_rng(9).random((24 * factor, 20 * factor))
    x = x.astype(np.float32)
    size = (x.shape[1] // factor, x.shape[0] // factor)
    box = np.asarray(Image.fromarray(x, "F").resize(size, Image.BOX))
    np.testing.assert_allclose(Downsample(factor, "box").apply(x), box,
                               atol=1e-6)
    cubic = np.asarray(Image.fromarray(x, "F").resize(size, Image.BICUBIC))
    ours = Downsample(factor, "bicubic").apply(x)
    np.testing.assert_allclose(ours[2:-2, 2:-2], cubic[2:-2, 2:-2],
                               atol=1e-6)
    assert np.abs(ours - cubic).max() > 1e-3      # the edges differ


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_downsample_gaussian_is_scikit_image_rescale(factor):
    transform = pytest.importorskip("skimage.transform")
    x = np.random.default_rng(10).random((16 * factor, 12 * factor))
    ref = transform.rescale(x, 1 / factor, anti_aliasing=True, order=1)
    ours = Downsample(factor, "gaussian").apply(x)
    edge = 4
    np.testing.assert_allclose(ours[edge:-edge, edge:-edge],
                               ref[edge:-edge, edge:-edge], atol=1e-12)


def test_downsample_known_answers():
    """Box means are block means; a normalised kernel keeps a constant."""
    x = np.arange(36.0).reshape(6, 6)
    np.testing.assert_allclose(Downsample(2, "box").apply(x),
                               x.reshape(3, 2, 3, 2).mean(axis=(1, 3)))
    for kernel in ("bicubic", "gaussian"):
        np.testing.assert_allclose(
            Downsample(3, kernel).apply(np.full((12, 9), 0.4)), 0.4)
    assert Downsample(2, "box").reach == 1
    assert Downsample(2, "bicubic").reach == 4


def _periodic_matrix(op, shape):
    """The dense matrix of ``op`` with the image wrapped around."""
    f = op.factor
    rows = []
    for n in shape:
        m = np.zeros((n // f, n))
        for i in range(n // f):
            np.add.at(m[i], (f * i + op.offsets) % n, op.weights)
        rows.append(m)
    return np.kron(rows[0], rows[1])


def _padded_solve(gram, v, size, alpha):
    """``(G + alpha I)^{-1}`` on ``v`` zero-padded to ``size``, cropped
    back: what gram_solve computes on a shape whose FFT is slow."""
    padded = np.zeros(size)
    padded[:v.shape[0], :v.shape[1]] = v
    x = np.linalg.solve(gram + alpha * np.eye(gram.shape[0]), padded.ravel())
    return x.reshape(size)[:v.shape[0], :v.shape[1]]


@pytest.mark.parametrize("kernel", ["bicubic", "box", "gaussian"])
@pytest.mark.parametrize("shape, size", [((12, 10), (12, 10)),
                                         ((14, 10), (16, 10))])
def test_downsample_gram_solve_is_exact_for_the_periodic_operator(
        kernel, shape, size):
    """Exact for the periodic operator on a shape of fast FFT lengths
    (halves of 6 and 5); else on the image zero-padded to one (a half of
    7 becomes 8)."""
    op = Downsample(2, kernel)
    assert fast_shape(shape, 2) == size
    a = _periodic_matrix(op, size)
    v = np.random.default_rng(11).standard_normal(shape)
    alpha = 0.03
    np.testing.assert_allclose(op.gram_solve(v, alpha),
                               _padded_solve(a.T @ a, v, size, alpha),
                               rtol=1e-9, atol=1e-9)
    fast = op.gram_solve(v.astype(np.float32), alpha)
    assert fast.dtype == np.float32
    np.testing.assert_allclose(fast, op.gram_solve(v, alpha), rtol=0,
                               atol=1e-4 * np.abs(fast).max())


@pytest.mark.parametrize("shape, size", [((9, 10), (9, 10)),
                                         ((9, 11), (9, 12))])
def test_blur_gram_solve_is_exact_for_the_periodic_blur(shape, size):
    """Exact for the periodic blur on a shape of fast FFT lengths; else on
    the image zero-padded to one (11 columns become 12)."""
    psf = _psf((3, 5), 12)
    assert fast_shape(shape) == size
    # the periodic blur: each pixel reads its neighbours modulo the shape
    a = np.zeros((size[0] * size[1],) * 2)
    c = (psf.shape[0] // 2, psf.shape[1] // 2)
    for i in range(size[0]):
        for j in range(size[1]):
            for (k, l), h in np.ndenumerate(psf):
                a[i * size[1] + j, ((i - (k - c[0])) % size[0]) * size[1]
                  + (j - (l - c[1])) % size[1]] += h
    v = np.random.default_rng(13).standard_normal(shape)
    np.testing.assert_allclose(Blur(psf).gram_solve(v, 0.1),
                               _padded_solve(a.T @ a, v, size, 0.1),
                               rtol=1e-9, atol=1e-9)


def test_fast_shape_is_the_next_product_of_2_3_and_5():
    assert fast_shape((584, 576, 7, 1)) == (600, 576, 8, 1)
    assert fast_shape((584, 147), 2) == (600, 150)
    assert fast_shape((13,), 3) == (15,)


@pytest.mark.parametrize("op", [Blur(_psf((3, 5), 12)), Downsample(2),
                                Downsample(3, "bicubic"),
                                Mask(np.arange(120).reshape(12, 10) % 3 > 0)])
def test_operators_keep_float32(op):
    """The solvers' data steps run in float32: the operators keep it, to
    float32's precision; other dtypes become float64."""
    x = np.random.default_rng(14).random(
        (12, 10) if isinstance(op, Mask) else (12, 12))
    y = op.apply(x)
    for out, ref in ((op.apply(x.astype(np.float32)), y),
                     (op.adjoint(y.astype(np.float32)), op.adjoint(y))):
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, ref, rtol=0,
                                   atol=1e-6 * np.abs(ref).max())
    assert op.apply(x.astype(np.float16)).dtype == np.float64
    assert op.apply(x.astype(int)).dtype == np.float64


@pytest.mark.parametrize("factor, kernel, error, match", [
    (1, "box", ValueError, "at least 2"),
    (2.0, "box", TypeError, "integer"),
    (True, "box", TypeError, "integer"),
    (2, "lanczos", ValueError, "'bicubic', 'box'"),
    (2, [1.0, 2.0, 1.0], ValueError, "parity"),
    (2, [[1.0, 1.0]], ValueError, "1-D"),
    (2, [1.0, -1.0], ValueError, "non-zero sum"),
    (2, [1.0, np.inf], ValueError, "finite"),
    (2, ["a", "b"], ValueError, "numbers"),
])
def test_downsample_refuses_bad_arguments(factor, kernel, error, match):
    with pytest.raises(error, match=match):
        Downsample(factor, kernel)


def test_downsample_refuses_a_shape_that_is_not_a_multiple():
    with pytest.raises(ValueError, match="multiples of the factor 3"):
        Downsample(3).apply(np.ones((12, 10)))
    with pytest.raises(ValueError, match="one 2-D image"):
        Downsample(2).adjoint(np.ones(4))


def test_compose_factor_only_when_every_operator_has_one():
    blur, down = Blur(np.ones((3, 3)) / 9), Downsample(2, "box")
    assert Compose(down, blur).factor == 2
    assert not hasattr(Compose(Mask(np.ones((4, 4), bool)), blur), "factor")
