"""Linear inverse problems (issue 29): half-quadratic splitting under the
noise-conditional prior, sksm.restoration.deconvolve and restore,
super-resolution through a kernel, and their command line."""

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from scipy.optimize import approx_fprime

from sksm import restoration
from sksm.image import add_noise, psnr
from sksm.posterior import (
    Blur,
    Compose,
    Downsample,
    Mask,
    half_quadratic_splitting,
    hqs_levels,
)
from sksm.posterior._inverse import _data_step


@pytest.fixture(scope="module")
def flower():
    """A crop of scikit-learn's flower.jpg (in no benchmark set), grey and
    colour, on the [0, 1] scale."""
    from sklearn.datasets import load_sample_image

    rgb = load_sample_image("flower.jpg")[150:246, 250:346] / 255.0
    return rgb, rgb @ np.array([0.2125, 0.7154, 0.0721])


@pytest.fixture(scope="module")
def field():
    from sksm import load_pretrained_ncfoe

    return load_pretrained_ncfoe().field_


def _motion(length=7):
    psf = np.zeros((length, length))
    psf[length // 2] = 1 / length
    return psf


# --------------------------------------------------------------------- #
# The data step
# --------------------------------------------------------------------- #
@pytest.mark.parametrize("operator", [Blur(_motion()), Downsample(2),
                                      Compose(Mask(np.eye(12) == 0),
                                              Blur(_motion(3)))],
                         ids=["blur", "downsample", "masked blur"])
def test_data_step_minimises_the_data_term(operator):
    """Enough conjugate-gradient iterations minimise ``|A x - y|^2 / 2 +
    alpha |x - z|^2 / 2``: its gradient, from the adjoint, vanishes, and
    finite differences of the objective agree with that gradient."""
    rng = np.random.default_rng(0)
    shape = (12, 12)
    x0 = rng.random(shape)
    y = operator.apply(rng.random(shape)) + 0.01 * rng.standard_normal(
        operator.apply(x0).shape)
    z, alpha = rng.random(shape), 0.05

    def objective(v):
        v = v.reshape(shape)
        return (0.5 * np.sum((operator.apply(v) - y) ** 2)
                + 0.5 * alpha * np.sum((v - z) ** 2))

    def gradient(v):
        return operator.adjoint(operator.apply(v) - y) + alpha * (v - z)

    numeric = approx_fprime(x0.ravel(), objective, 1e-6)
    np.testing.assert_allclose(gradient(x0).ravel(), numeric, atol=1e-4)
    x = _data_step(operator, operator.adjoint(y) + alpha * z, alpha, x0, 200,
                   getattr(operator, "gram_solve", None))
    assert np.abs(gradient(x)).max() < 1e-6 * np.abs(gradient(x0)).max()


def test_preconditioned_steps_converge_faster():
    """Three iterations with the FFT preconditioner get closer to the
    solution than three without it."""
    rng = np.random.default_rng(1)
    op = Blur(_motion(9))
    y = op.apply(rng.random((32, 32)))
    alpha, x0 = 0.01, y.copy()
    rhs = op.adjoint(y) + alpha * y
    exact = _data_step(op, rhs, alpha, x0, 500, op.gram_solve)
    fast = _data_step(op, rhs, alpha, x0, 3, op.gram_solve)
    slow = _data_step(op, rhs, alpha, x0, 3)
    assert (np.linalg.norm(fast - exact)
            < 0.5 * np.linalg.norm(slow - exact))


# --------------------------------------------------------------------- #
# The solver
# --------------------------------------------------------------------- #
def test_constant_images_stay_constant(field):
    """Known answer: a constant scene blurred (or shrunk) by a normalised
    kernel is observed constant, every filter of the prior answers 0 to it,
    and the restoration is the constant."""
    levels = hqs_levels(0.07, 0.01, 4)
    for op, shape in [(Blur(_motion()), (40, 40)),
                      (Downsample(3, "bicubic"), (15, 15))]:
        out = half_quadratic_splitting(field, [np.full(shape, 0.3)], op,
                                       0.01, levels=levels, weight=0.35)[0]
        np.testing.assert_allclose(out, 0.3, atol=1e-5)


@pytest.mark.parametrize("op", [Blur(_motion(9)), Downsample(2, "bicubic")],
                         ids=["blur", "downsample"])
def test_float32_data_steps_match_float64(field, flower, op):
    """The data steps run in the prior's precision: the float32 prior gives
    the result of a float64 copy of it (whose steps run in float64) to far
    below the restoration's error."""
    from sksm.energies import NoiseConditionalField

    _, gray = flower
    clean = gray[:60, :60]
    y = add_noise(op.apply(clean), 0.01, random_state=0)
    wide = NoiseConditionalField(field.V, field.logits, field.log_alpha,
                                 field.scales, field.size, dtype=np.float64)
    kwargs = dict(levels=hqs_levels(0.07, 0.01, 4), weight=0.35)
    single = half_quadratic_splitting(field, [y], op, 0.01, **kwargs)[0]
    double = half_quadratic_splitting(wide, [y], op, 0.01, **kwargs)[0]
    assert single.dtype == double.dtype == np.float64
    assert psnr(double, single) > psnr(clean, double) + 30


@pytest.mark.parametrize("op", [Blur(_motion(9)), Downsample(2, "bicubic")],
                         ids=["blur", "downsample"])
def test_tiles_and_threads_barely_change_the_result(field, flower, op):
    """Tiles see ``overlap`` observed pixels of context and estimate the
    pixels beyond: the result differs from the whole-image solve by far
    less than the restoration's error (measured: 0.03 of the [0, 1] scale at
    most for a 15-pixel motion blur, 1e-3 for x2 bicubic)."""
    _, gray = flower
    clean = gray[:96, :96]
    y = add_noise(op.apply(clean), 0.01, random_state=0)
    kwargs = dict(levels=hqs_levels(0.07, 0.01, 4), weight=0.35)
    whole = half_quadratic_splitting(field, [y], op, 0.01, tile_size=None,
                                     **kwargs)[0]
    for n_threads in (1, 2):
        tiled = half_quadratic_splitting(field, [y], op, 0.01, tile_size=24,
                                         n_threads=n_threads, **kwargs)[0]
        assert tiled.shape == clean.shape
        assert psnr(whole, tiled) > psnr(clean, whole) + 15


# --------------------------------------------------------------------- #
# sksm.restoration
# --------------------------------------------------------------------- #
def test_deconvolve_beats_the_blurred_image_and_wiener(flower):
    """A 9-pixel motion blur with 1% noise: far above the blurred image and
    above scikit-image's Wiener filter at its best balance (measured: 31.0
    dB against 24.4 blurred, 28.0 Wiener)."""
    skr = pytest.importorskip("skimage.restoration")
    _, gray = flower
    psf = _motion(9)
    y = add_noise(ndimage.convolve(gray, psf, mode="reflect"), 0.01,
                  random_state=0)
    sharp = restoration.deconvolve(y, psf, 0.01)
    assert sharp.shape == gray.shape and sharp.dtype == y.dtype
    wiener = max(psnr(gray, np.clip(skr.wiener(y, psf, b), 0, 1))
                 for b in (1e-3, 1e-2, 0.1))
    assert psnr(gray, sharp) > psnr(gray, y) + 4
    assert psnr(gray, sharp) > wiener + 1
    # the noise estimated from the image gives about the same
    estimated = restoration.deconvolve(y, psf)
    assert abs(psnr(gray, estimated) - psnr(gray, sharp)) < 0.5


def test_deconvolve_uint8_and_colour(flower):
    rgb, _ = flower
    psf = np.full((3, 3), 1 / 9)
    blurred = np.stack([ndimage.convolve(c, psf, mode="reflect")
                        for c in np.moveaxis(rgb, -1, 0)], axis=-1)
    as_uint8 = np.rint(255 * blurred).astype(np.uint8)
    out = restoration.deconvolve(as_uint8, psf, 2 / 255, channel_axis=-1)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    assert psnr(rgb, out / 255) > psnr(rgb, as_uint8 / 255) + 1


@pytest.mark.parametrize("factor", [2, 3])
def test_super_resolve_of_a_bicubic_reduction_beats_bicubic(flower, factor):
    """An image shrunk by Pillow's bicubic resize, enlarged: above Pillow's
    bicubic enlargement (measured: +1.2 dB at x2, +0.9 dB at x3)."""
    _, gray = flower
    clean = gray[:90, :90].astype(np.float32)
    size = (90 // factor, 90 // factor)
    small = np.asarray(Image.fromarray(clean, "F").resize(size,
                                                          Image.BICUBIC))
    bicubic = np.asarray(Image.fromarray(small, "F").resize(
        clean.shape, Image.BICUBIC))
    ours = restoration.super_resolve(small, factor, kernel="bicubic")
    assert ours.shape == clean.shape and ours.dtype == np.float32
    assert psnr(clean, ours) > psnr(clean, bicubic) + 0.5


def test_super_resolve_box_with_sigma_uses_the_solver(flower):
    """kernel='box' with a sigma: block means with noise, restored by the
    same solver, above Pillow's bicubic enlargement (measured: 23.76 dB
    against 22.89)."""
    _, gray = flower
    low = gray.reshape(48, 2, 48, 2).mean(axis=(1, 3))
    noisy = add_noise(low, 0.02, random_state=1).astype(np.float32)
    out = restoration.super_resolve(noisy, 2, sigma=0.02)
    bicubic = np.asarray(Image.fromarray(noisy).resize((96, 96),
                                                       Image.BICUBIC))
    assert psnr(gray, out) > psnr(gray, bicubic) + 0.5


def test_restore_with_an_operator_of_ones_own(flower):
    """An operator without ``factor`` (here lost pixels after a blur) is
    restored whole."""
    _, gray = flower
    rng = np.random.default_rng(2)
    op = Compose(Mask(rng.random(gray.shape) > 0.2), Blur(_motion(5)))
    y = add_noise(op.apply(gray), 0.01, random_state=2)
    out = restoration.restore(y, op, 0.01)
    assert psnr(gray, out) > psnr(gray, y) + 8


def test_restoration_refuses_bad_arguments(flower):
    from sksm import load_pretrained_foe

    _, gray = flower
    with pytest.raises(TypeError, match="apply"):
        restoration.restore(gray, object(), 0.01)
    with pytest.raises(TypeError, match="noise-conditional prior"):
        restoration.deconvolve(gray, _motion(), 0.01,
                               model=load_pretrained_foe())
    with pytest.raises(ValueError, match="psf"):
        restoration.deconvolve(gray, np.ones(3), 0.01)
    with pytest.raises(ValueError, match="kernel must be"):
        restoration.super_resolve(gray, 2, kernel="lanczos")
    with pytest.raises(ValueError, match="n_iter=5 applies"):
        restoration.super_resolve(gray, 2, kernel="bicubic", n_iter=5)
    with pytest.raises(ValueError, match="more than half the white"):
        restoration.deconvolve(gray, _motion(), 5.0)


def test_restoration_leaves_its_inputs_alone(flower):
    _, gray = flower
    image, psf = gray.copy(), _motion()
    restoration.deconvolve(image, psf, 0.01, tile_size=64)
    np.testing.assert_array_equal(image, gray)
    np.testing.assert_array_equal(psf, _motion())


# --------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------- #
def test_cli_deblur_and_super_resolve_with_a_kernel(flower, tmp_path):
    from sksm.cli import main
    from sksm.image import read_image

    rgb, gray = flower
    psf = _motion(7)
    blurred = np.stack([ndimage.convolve(c, psf, mode="reflect")
                        for c in np.moveaxis(rgb, -1, 0)], axis=-1)
    Image.fromarray(np.rint(255 * blurred).astype(np.uint8)).save(
        tmp_path / "blurred.png")
    np.save(tmp_path / "psf.npy", psf)
    Image.fromarray(np.rint(255 * psf / psf.max()).astype(np.uint8)).save(
        tmp_path / "psf.png")
    for name in ("psf.npy", "psf.png"):
        out = tmp_path / f"sharp_{name}.png"
        assert main(["deblur", str(tmp_path / "blurred.png"), str(out),
                     "--psf", str(tmp_path / name), "--sigma", "1"]) == 0
        sharp = read_image(out)
        assert sharp.shape == rgb.shape and sharp.dtype == np.uint8
        assert psnr(rgb, sharp / 255) > psnr(rgb, blurred) + 2
    assert main(["super-resolve", str(tmp_path / "blurred.png"),
                 str(tmp_path / "big.png"), "--kernel", "bicubic",
                 "--factor", "3"]) == 0
    assert read_image(tmp_path / "big.png").shape == (288, 288, 3)


def test_cli_deblur_warns_on_a_jpeg_without_sigma(flower, tmp_path,
                                                 capsys):
    """JPEG compression removes the fine noise the estimate reads, and the
    deblurring amplifies the rest: without --sigma the command says so, and
    with it (or for a PNG) it does not."""
    from sksm.cli import main

    _, gray = flower
    psf = _motion(5)
    noisy = add_noise(ndimage.convolve(gray, psf, mode="reflect"), 0.01,
                      random_state=0)
    pixels = np.rint(255 * np.clip(noisy, 0, 1)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "shaken.jpg", quality=85)
    Image.fromarray(pixels).save(tmp_path / "shaken.png")
    np.save(tmp_path / "psf.npy", psf)
    for name, extra, warned in (("shaken.jpg", [], True),
                                ("shaken.jpg", ["--sigma", "2.5"], False),
                                ("shaken.png", [], False)):
        assert main(["deblur", str(tmp_path / name),
                     str(tmp_path / f"out_{len(extra)}_{name}.png"),
                     "--psf", str(tmp_path / "psf.npy"), *extra]) == 0
        err = capsys.readouterr().err
        assert ("is a JPEG and no --sigma was given" in err) == warned


def test_cli_deblur_refuses_a_bad_psf(tmp_path, capsys):
    from sksm.cli import main

    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "in.png")
    np.save(tmp_path / "bad.npy", -np.ones((3, 3)))
    code = main(["deblur", str(tmp_path / "in.png"), str(tmp_path / "o.png"),
                 "--psf", str(tmp_path / "bad.npy")])
    assert code == 2
    assert "non-negative" in capsys.readouterr().err
