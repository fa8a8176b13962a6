"""Image helpers: dtype policy, patches, whitening, PSNR."""

import numpy as np
import pytest
from scipy.signal import correlate2d

from sksm.image import (add_noise, check_image, compose_filters,
                        extract_patches, laplacian_kernel, psnr,
                        restore_dtype, to_float, whiten)


def test_to_float_and_back_for_every_dtype():
    u8 = np.array([[0, 128, 255]], dtype=np.uint8)
    np.testing.assert_allclose(to_float(u8), [[0, 128 / 255, 1]])
    u16 = np.array([[0, 65535]], dtype=np.uint16)
    np.testing.assert_allclose(to_float(u16), [[0, 1]])
    assert to_float(np.zeros((2, 2), np.float32)).dtype == np.float32
    np.testing.assert_array_equal(restore_dtype(to_float(u8), u8), u8)
    np.testing.assert_array_equal(restore_dtype(to_float(u16), u16), u16)
    # out-of-range results are clipped for integer images only
    assert restore_dtype(np.array([[1.3, -0.2]]), u8).tolist() == [[255, 0]]
    assert restore_dtype(np.array([[1.3]]), np.zeros(1, np.float32)).dtype \
        == np.float32


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros(4), ValueError, "shape"),
    (np.zeros((2, 2)) + 1j, TypeError, "complex"),
    (np.array([["a"]], dtype=object), TypeError, "real numbers"),
    (np.array([[np.nan, 0.0]]), ValueError, "NaN"),
    (np.zeros((0, 3)), ValueError, "empty"),
])
def test_check_image_rejects_bad_input(bad, error, match):
    with pytest.raises(error, match=match):
        check_image(bad)


def test_extract_patches_from_images_of_different_sizes():
    rng = np.random.RandomState(0)
    images = [rng.rand(10, 12), (rng.rand(7, 7) * 255).astype(np.uint8)]
    X = extract_patches(images, 5, max_patches=40, random_state=0)
    assert X.shape == (40, 25)
    assert X.max() <= 1.0
    every = extract_patches(images, 5)
    assert every.shape == (6 * 8 + 3 * 3, 25)
    np.testing.assert_array_equal(every[0], images[0][:5, :5].ravel())
    with pytest.raises(ValueError, match="smaller than patch_size"):
        extract_patches([rng.rand(3, 9)], 5)


def test_laplacian_whitening_and_composed_filters():
    kernel = laplacian_kernel(5)
    assert kernel.shape == (5, 5)
    assert abs(kernel.sum()) < 1e-12
    rng = np.random.RandomState(1)
    images = rng.rand(2, 20, 17)
    white = whiten(images, kernel)
    assert white.shape == (2, 16, 13)
    np.testing.assert_allclose(white[1], correlate2d(images[1], kernel,
                                                     mode="valid"), atol=1e-12)
    # A filter on the whitened image is its composed filter on the raw one.
    filters = rng.randn(3, 5, 5)
    composed = compose_filters(filters, kernel)
    assert composed.shape == (3, 9, 9)
    for f, g in zip(filters, composed):
        np.testing.assert_allclose(correlate2d(white[0], f, mode="valid"),
                                   correlate2d(images[0], g, mode="valid"),
                                   atol=1e-12)


def test_psnr_and_noise():
    rng = np.random.RandomState(2)
    clean = rng.rand(64, 64)
    noisy = add_noise(clean, 0.1, random_state=0)
    assert psnr(clean, noisy) == pytest.approx(20.0, abs=0.2)
    assert psnr(clean, clean) == np.inf
    with pytest.raises(ValueError, match="Shapes differ"):
        psnr(clean, clean[:5])
