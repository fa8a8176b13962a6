"""Image helpers: dtype policy, patches, whitening, PSNR; image files."""

import numpy as np
import pytest
from scipy.signal import correlate2d

from sksm.image import (add_noise, check_image, check_unit_range,
                        compose_filters, estimate_sigma, extract_patches,
                        laplacian_kernel, psnr, read_image, restore_dtype,
                        to_float, whiten, write_image)


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


def test_integer_images_without_a_white_level_are_refused():
    values = np.array([[0, 128, 255]], dtype=np.int64)
    with pytest.raises(ValueError, match="data_range.*uint8"):
        to_float(values)
    np.testing.assert_allclose(to_float(values, data_range=255),
                               [[0, 128 / 255, 1]])
    np.testing.assert_array_equal(
        restore_dtype(to_float(values, 255), values, 255), values)
    with pytest.raises(ValueError, match="data_range"):
        to_float(values, data_range=0)


def test_float_images_far_from_the_unit_scale_are_refused():
    check_unit_range(np.array([[-0.5, 1.7]]))
    with pytest.raises(ValueError, match="from 0 to 255.*data_range"):
        check_unit_range(np.array([[0.0, 255.0]]))


def test_add_noise_warns_for_a_level_on_the_0_255_scale():
    image = np.full((8, 8), 100, np.uint8)
    with pytest.warns(UserWarning, match="15 / 255"):
        add_noise(image, 15, random_state=0)
    noisy = add_noise(image, 15 / 255, random_state=0)
    assert noisy.dtype == np.float64 and abs(noisy.mean() - 100 / 255) < 0.01


@pytest.mark.parametrize("sigma", [2 / 255, 0.05, 0.2])
def test_estimate_sigma_on_a_photograph(sigma):
    from sklearn.datasets import load_sample_image

    photo = load_sample_image("china.jpg")[:256, :256] / 255.0
    photo = photo @ np.array([0.2125, 0.7154, 0.0721])
    noisy = add_noise(photo, sigma, random_state=0)
    # a textured crop (foliage), whose fine texture passes the filter too:
    # measured 3.8, 7.2, 17.1 and 26.6 for 2, 5, 15 and 25 (/255)
    estimate = estimate_sigma(noisy)
    assert 0.97 * sigma < estimate < 1.15 * sigma + 2 / 255
    rgb = np.stack([noisy, noisy.T, noisy[::-1]], axis=-1)
    per_channel = estimate_sigma(rgb, channel_axis=-1)
    assert per_channel.shape == (3,)
    assert estimate_sigma(rgb, channel_axis=-1, average_sigmas=True) == \
        pytest.approx(per_channel.mean())


def test_exif_orientation_is_applied(tmp_path):
    from PIL import Image

    image = np.zeros((20, 30, 3), np.uint8)
    image[:5, :5] = 255                    # a mark at the stored top left
    exif = Image.Exif()
    exif[0x0112] = 6                       # viewers rotate 90 degrees cw
    Image.fromarray(image).save(tmp_path / "phone.jpg", exif=exif,
                                quality=95)
    upright = read_image(tmp_path / "phone.jpg")
    assert upright.shape == (30, 20, 3)
    assert upright[:5, -5:].mean() > 200   # now at the top right


def test_multi_frame_files_are_read_whole_or_refused(tmp_path):
    from PIL import Image

    frames = [Image.fromarray(np.full((6, 7), v, np.uint8)) for v in (1, 2)]
    frames[0].save(tmp_path / "two.tif", save_all=True,
                   append_images=frames[1:])
    with pytest.raises(ValueError, match="2 frames.*all_frames=True"):
        read_image(tmp_path / "two.tif")
    stack = read_image(tmp_path / "two.tif", all_frames=True)
    assert stack.shape == (2, 6, 7) and stack[1, 0, 0] == 2
    write_image(tmp_path / "copy.tif", stack, all_frames=True)
    np.testing.assert_array_equal(read_image(tmp_path / "copy.tif",
                                             all_frames=True), stack)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_colour_round_trips(tmp_path, suffix):
    pytest.importorskip("tifffile")
    pytest.importorskip("imagecodecs")
    rng = np.random.RandomState(0)
    # channels first, then moved last: not C-contiguous, as restoration
    # returns them
    image = np.moveaxis((rng.rand(3, 9, 11) * 65535).astype(np.uint16), 0, -1)
    write_image(tmp_path / f"deep{suffix}", image)
    back = read_image(tmp_path / f"deep{suffix}")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_planar_16_bit_colour_tiff_is_read_channels_last(tmp_path):
    # Samples stored apart (PlanarConfiguration 2): tifffile returns them
    # first; every other reader of the package returns channels last.
    tifffile = pytest.importorskip("tifffile")
    pytest.importorskip("imagecodecs")
    image = (np.random.RandomState(0).rand(9, 11, 3) * 65535).astype(
        np.uint16)
    tifffile.imwrite(tmp_path / "planar.tif", np.moveaxis(image, -1, 0),
                     photometric="rgb", planarconfig="separate")
    back = read_image(tmp_path / "planar.tif")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, image)


def test_16_bit_colour_is_refused_without_the_files_extra(tmp_path,
                                                          monkeypatch):
    imagecodecs = pytest.importorskip("imagecodecs")
    import sys

    image = (np.random.RandomState(0).rand(9, 11, 3) * 65535).astype(
        np.uint16)
    (tmp_path / "deep.png").write_bytes(imagecodecs.png_encode(image))
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    with pytest.raises(ValueError, match=r"sksm\[files\]"):
        read_image(tmp_path / "deep.png")
    with pytest.raises(ValueError, match=r"sksm\[files\]"):
        write_image(tmp_path / "again.png", image)


def test_float_tiff_keeps_its_values(tmp_path):
    image = np.linspace(0, 255, 40, dtype=np.float32).reshape(5, 8)
    write_image(tmp_path / "f.tif", image)
    back = read_image(tmp_path / "f.tif")
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, image)


@pytest.mark.parametrize("image, path, match", [
    (np.array([[0.5, np.nan]]), "o.png", "NaN"),
    (np.zeros((4, 4), np.uint8), "o.xyz", "extension"),
    (np.zeros((4, 4), np.uint16), "o.jpg", "16"),
    (np.zeros((4, 4), np.int64), "o.png", "uint8 or uint16"),
    (np.zeros((4, 4, 5), np.uint8), "o.png", "shape"),
])
def test_write_image_refuses_what_it_cannot_write(tmp_path, image, path,
                                                  match):
    with pytest.raises(ValueError, match=match):
        write_image(tmp_path / path, image)
    assert not (tmp_path / path).exists()


def test_read_image_names_a_missing_file_or_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_image(tmp_path / "none.png")
    (tmp_path / "d.png").mkdir()
    with pytest.raises(IsADirectoryError, match="folder"):
        read_image(tmp_path / "d.png")


@pytest.mark.parametrize("call, error, match", [
    (lambda im: extract_patches(im, True), TypeError, "patch_size"),
    (lambda im: extract_patches(im, 0), ValueError, "patch_size"),
    (lambda im: extract_patches(im, 4, max_patches=2.5), TypeError,
     "max_patches"),
    (lambda im: add_noise(im, "0.1"), TypeError, "sigma"),
    (lambda im: add_noise(im, -0.1), ValueError, "sigma"),
    (lambda im: to_float(im, data_range="255"), TypeError, "data_range"),
    (lambda im: to_float(im, data_range=True), TypeError, "data_range"),
])
def test_keyword_arguments_are_checked_like_parameters(call, error, match):
    """One validator per kind of argument (issue 14, part 4): a wrong type
    is a TypeError, a wrong value a ValueError, each naming the argument."""
    with pytest.raises(error, match=match):
        call(np.zeros((8, 8)))


# ---------------------------------------------------------------------- #
# What a written file keeps, and errors that name the file (issue 27)
# ---------------------------------------------------------------------- #
def _photo(size=128):
    from sklearn.datasets import load_sample_image

    return load_sample_image("china.jpg")[100:100 + size, 200:200 + size]


def test_a_jpeg_keeps_the_quality_of_its_jpeg_source(tmp_path):
    from PIL import Image

    photo = _photo()
    Image.fromarray(photo).save(tmp_path / "q90.jpg", quality=90)
    pixels = read_image(tmp_path / "q90.jpg")
    size90 = (tmp_path / "q90.jpg").stat().st_size
    write_image(tmp_path / "kept.jpg", pixels, source=tmp_path / "q90.jpg")
    write_image(tmp_path / "q50.jpg", pixels, quality=50)
    kept = read_image(tmp_path / "kept.jpg")
    # Pillow's default, 75, measured at 63 % of the size and -3.7 dB
    assert abs((tmp_path / "kept.jpg").stat().st_size / size90 - 1) < 0.05
    assert psnr(photo, kept) > psnr(photo, pixels) - 0.5
    assert (tmp_path / "q50.jpg").stat().st_size < 0.7 * size90
    # a source that is no JPEG: 95, above the 90 of the source
    write_image(tmp_path / "from_png.jpg", pixels)
    assert (tmp_path / "from_png.jpg").stat().st_size > size90
    with pytest.raises(ValueError, match="JPEG and WebP"):
        write_image(tmp_path / "o.png", pixels, quality=80)
    with pytest.raises(ValueError, match="1 to 100"):
        write_image(tmp_path / "o.jpg", pixels, quality=0)


def _profile(space="sRGB"):
    ImageCms = pytest.importorskip("PIL.ImageCms")
    profile = ImageCms.createProfile(space)
    return ImageCms.ImageCmsProfile(profile).tobytes()


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".webp"])
def test_the_colour_profile_and_exif_are_kept(tmp_path, suffix):
    from PIL import Image

    icc = _profile()
    exif = Image.Exif()
    exif[0x0112] = 6                  # turned on reading
    exif[0x010F] = "Camera maker"
    exif.get_ifd(0x8769)[0xA002] = 40  # pixel width as stored
    stored = _photo(40)[:, :30]
    Image.fromarray(stored).save(tmp_path / "in.jpg", icc_profile=icc,
                                 exif=exif)
    with Image.open(tmp_path / "in.jpg") as source:
        # Pillow writes the EXIF sub-IFD of this input from 11.1 on
        sub_ifd = 0xA002 in source.getexif().get_ifd(0x8769)
    upright = read_image(tmp_path / "in.jpg")
    assert upright.shape == (30, 40, 3)
    write_image(tmp_path / f"out{suffix}", upright, source=tmp_path / "in.jpg")
    with Image.open(tmp_path / f"out{suffix}") as out:
        assert out.info.get("icc_profile") == icc
        kept = out.getexif()
    if suffix != ".tif":                 # a TIFF's EXIF is its own header
        assert kept[0x010F] == "Camera maker"
        assert kept[0x0112] == 1           # upright as written
        if sub_ifd:
            assert kept.get_ifd(0x8769)[0xA002] == 40
    assert read_image(tmp_path / f"out{suffix}").shape == upright.shape


def test_a_colour_profile_is_kept_in_16_bit_and_float_colour(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    pytest.importorskip("imagecodecs")
    from PIL import Image

    icc = _profile()
    deep = (np.random.RandomState(0).rand(9, 11, 3) * 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", deep, photometric="rgb",
                     extratags=[(34675, 7, len(icc), icc, True)])
    write_image(tmp_path / "out.png", deep, source=tmp_path / "in.tif")
    with Image.open(tmp_path / "out.png") as out:
        assert out.info.get("icc_profile") == icc
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), deep)
    floats = deep.astype(np.float32) / 65535
    tifffile.imwrite(tmp_path / "f.tif", floats, photometric="rgb",
                     extratags=[(34675, 7, len(icc), icc, True)])
    write_image(tmp_path / "g.tif", floats, source=tmp_path / "f.tif")
    with tifffile.TiffFile(tmp_path / "g.tif") as tif:
        assert bytes(tif.pages[0].tags[34675].value) == icc


def test_a_colour_profile_that_cannot_be_kept_warns(tmp_path):
    from PIL import Image

    photo = _photo(16)
    Image.fromarray(photo).save(tmp_path / "in.png", icc_profile=_profile())
    with pytest.warns(UserWarning, match="GIF file cannot hold the colour "
                                         "profile.*in.png"):
        write_image(tmp_path / "out.gif", photo, source=tmp_path / "in.png")
    # a profile of colour for gray pixels would be wrong: not kept, said
    with pytest.warns(UserWarning, match="describes RGB pixels"):
        write_image(tmp_path / "gray.png", photo[..., 0],
                    source=tmp_path / "in.png")
    with Image.open(tmp_path / "gray.png") as out:
        assert "icc_profile" not in out.info


def test_float_pixels_are_written_on_their_white_level(tmp_path):
    image = np.array([[0.0, 127.5, 255.0], [51.0, 300.0, -2.0]], np.float32)
    write_image(tmp_path / "a.png", image, data_range=255)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"),
                                  [[0, 128, 255], [51, 255, 0]])
    # float pixels far off the scale they are written on: refused, not white
    with pytest.raises(ValueError, match="-2 to 300.*data_range"):
        write_image(tmp_path / "b.png", image)
    assert not (tmp_path / "b.png").exists()
    write_image(tmp_path / "c.tif", image, data_range=255)  # kept as given
    np.testing.assert_array_equal(read_image(tmp_path / "c.tif"), image)
    with pytest.raises(TypeError, match="data_range"):
        write_image(tmp_path / "d.png", image, data_range="255")


def test_a_png_text_chunk_past_pillows_limit_names_the_file(tmp_path):
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "a" * (2 * PngImagePlugin.MAX_TEXT_CHUNK),
                  zip=True)            # a few kB that inflate to 2 MB
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "t.png",
                                                     pnginfo=info)
    assert (tmp_path / "t.png").stat().st_size < 20_000
    with pytest.raises(ValueError, match=r"t\.png: refused, a text chunk.*"
                                         "MAX_TEXT_CHUNK.*if you trust"):
        read_image(tmp_path / "t.png")


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"),
                    reason="/dev/full is a Linux device")
def test_a_full_disk_names_the_file_and_what_to_do(tmp_path):
    import errno

    (tmp_path / "full.png").symlink_to("/dev/full")  # writes: ENOSPC
    with pytest.raises(OSError, match=r"full\.png: cannot write the image: "
                                      "no space left.*free some space") as e:
        write_image(tmp_path / "full.png", _photo(64))
    assert e.value.errno == errno.ENOSPC
