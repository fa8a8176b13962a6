"""The sksm command on image files."""

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from sklearn.datasets import load_sample_image

from sksm.cli import main
from sksm.image import psnr, read_image, write_image


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rgb = load_sample_image("china.jpg")[100:164, 200:272]
    gray = (rgb @ np.array([0.2125, 0.7154, 0.0721])).astype(np.uint8)
    Image.fromarray(rgb).save(d / "rgb.png")
    Image.fromarray(gray).save(d / "gray.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(d / "gray16.png")
    flower = load_sample_image("flower.jpg")[150:230, 150:230]
    Image.fromarray(flower).save(d / "train.jpg")
    mask = np.zeros(gray.shape, np.uint8)
    mask[20:26, 30:40] = 255
    Image.fromarray(mask).save(d / "mask.png")
    model = d / "model.npz"
    assert main(["train", str(d / "train.jpg"), str(d / "gray.png"), "-o",
                 str(model), "--patch-size", "20", "--n-patches", "60",
                 "--max-iter", "15", "--no-calibrate"]) == 0
    return d, gray, model


def test_train_writes_a_loadable_model(files):
    from sksm.io import load_model

    _, _, model = files
    loaded = load_model(model)
    assert loaded.filters_.shape == (24, 5, 5)
    # --no-calibrate (calibration itself: tests/test_restoration.py)
    assert not hasattr(loaded, "denoise_calibration_")


def test_train_prints_the_file_it_wrote(files, capsys):
    d, _, _ = files
    assert main(["train", str(d / "train.jpg"), "-o", str(d / "bare"),
                 "--patch-size", "20", "--n-patches", "30", "--max-iter",
                 "3", "--no-calibrate"]) == 0
    assert f"wrote {d / 'bare.npz'}" in capsys.readouterr().err
    assert (d / "bare.npz").is_file()


@pytest.mark.parametrize("name", ["gray.png", "gray16.png", "rgb.png"])
def test_denoise_keeps_size_depth_and_channels(files, name):
    d, _, model = files
    out = d / f"out_{name}"
    assert main(["denoise", str(d / name), str(out), "--sigma", "10",
                 "--model", str(model)]) == 0
    before, after = read_image(d / name), read_image(out)
    assert after.shape == before.shape and after.dtype == before.dtype


def test_super_resolve_and_inpaint(files):
    d, gray, model = files
    assert main(["super-resolve", str(d / "gray.png"), str(d / "big.png"),
                 "--model", str(model)]) == 0
    assert read_image(d / "big.png").shape == (2 * gray.shape[0],
                                               2 * gray.shape[1])
    assert main(["inpaint", str(d / "gray.png"), str(d / "mask.png"),
                 str(d / "filled.png"), "--model", str(model)]) == 0
    filled = read_image(d / "filled.png")
    keep = read_image(d / "mask.png") == 0
    np.testing.assert_array_equal(filled[keep], gray[keep])


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err[-1] if err else ""


def test_bad_files_give_one_line_and_exit_code_2(files, capsys, tmp_path,
                                                 monkeypatch):
    d, _, model = files
    text = tmp_path / "notes.png"
    text.write_text("hello")
    code, line = _error(capsys, ["denoise", str(text), str(tmp_path / "o.png"),
                                 "--sigma", "5", "--model", str(model)])
    assert code == 2 and "not an image" in line
    truncated = tmp_path / "cut.png"
    truncated.write_bytes((d / "gray.png").read_bytes()[:300])
    code, line = _error(capsys, ["denoise", str(truncated),
                                 str(tmp_path / "o.png"), "--sigma", "5",
                                 "--model", str(model)])
    assert code == 2 and "truncated" in line
    # metadata that inflates past Pillow's limit: named, with what to do
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "a" * (2 * PngImagePlugin.MAX_TEXT_CHUNK),
                  zip=True)
    Image.open(d / "gray.png").save(tmp_path / "text.png", pnginfo=info)
    code, line = _error(capsys, ["denoise", str(tmp_path / "text.png"),
                                 str(tmp_path / "o.png"), "--sigma", "5",
                                 "--model", str(model)])
    assert code == 2 and line.startswith(
        f"sksm denoise: error: {tmp_path / 'text.png'}: refused, a text chunk")
    assert "if you trust the file" in line
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    code, line = _error(capsys, ["denoise", str(d / "gray.png"),
                                 str(tmp_path / "o.png"), "--sigma", "5",
                                 "--model", str(model)])
    assert code == 2 and "decompression bomb" in line


def test_pretrained_model_by_default(files, tmp_path):
    d, gray, _ = files
    rng = np.random.RandomState(0)
    noisy = np.clip(gray + 15 * rng.randn(*gray.shape), 0, 255).astype(np.uint8)
    write_image(tmp_path / "noisy.png", noisy)
    assert main(["denoise", str(tmp_path / "noisy.png"),
                 str(tmp_path / "out.png"), "--sigma", "15"]) == 0
    # a highly textured crop: measured +1.15 dB
    assert psnr(gray, read_image(tmp_path / "out.png")) > \
        psnr(gray, noisy) + 0.8


def test_missing_model_and_bad_sigma(files, capsys, tmp_path):
    d, _, model = files
    code, line = _error(capsys, ["denoise", str(d / "gray.png"),
                                 str(tmp_path / "o.png"), "--sigma", "5",
                                 "--model", str(tmp_path / "none.npz")])
    assert code == 2 and "no such model file" in line.lower()
    code, line = _error(capsys, ["denoise", str(d / "gray.png"),
                                 str(tmp_path / "o.png"), "--sigma", "-1",
                                 "--model", str(model)])
    assert code == 2 and "--sigma" in line


def test_every_frame_of_a_multi_page_tiff_is_restored(files, tmp_path):
    d, gray, model = files
    rng = np.random.RandomState(0)
    frames = [np.clip(gray + 10 * rng.randn(*gray.shape), 0, 255)
              .astype(np.uint8) for _ in range(3)]
    images = [Image.fromarray(f) for f in frames]
    images[0].save(tmp_path / "stack.tif", save_all=True,
                   append_images=images[1:])
    out = tmp_path / "out.tif"
    assert main(["denoise", str(tmp_path / "stack.tif"), str(out),
                 "--sigma", "10"]) == 0
    restored = read_image(out, all_frames=True)
    assert restored.shape == (3,) + gray.shape
    for before, after in zip(frames, restored):
        assert psnr(gray, after) > psnr(gray, before)


def test_output_is_checked_before_the_work(files, capsys, tmp_path,
                                           monkeypatch):
    d, _, model = files
    import sksm.restoration

    def fail(*args, **kwargs):  # the work must not start
        raise AssertionError("restoration ran")

    monkeypatch.setattr(sksm.restoration, "denoise", fail)
    base = ["denoise", str(d / "gray.png")]
    for output, message in [(tmp_path / "no" / "o.png", "does not exist"),
                            (tmp_path / "o.xyz", "extension"),
                            (d / "gray.png", "--overwrite"),
                            (tmp_path / "o.jpg", "16")]:
        argv = base + [str(output), "--sigma", "5", "--model", str(model)]
        if message == "16":
            argv[1] = str(d / "gray16.png")
        code, line = _error(capsys, argv)
        assert code == 2 and message in line, line
    stack = tmp_path / "two.tif"
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(
        stack, save_all=True, append_images=[Image.fromarray(
            np.ones((20, 20), np.uint8))])
    code, line = _error(capsys, ["denoise", str(stack),
                                 str(tmp_path / "o.jpg"), "--sigma", "5"])
    assert code == 2 and "2 frames" in line


def test_missing_input_and_unwritable_output(files, capsys, tmp_path):
    d, _, model = files
    code, line = _error(capsys, ["denoise", str(tmp_path / "none.png"),
                                 str(tmp_path / "o.png"), "--sigma", "5"])
    assert code == 2 and "no such file" in line
    assert "truncated" not in line


def test_float_tiff_needs_its_white_level(files, capsys, tmp_path):
    d, gray, model = files
    Image.fromarray(gray.astype(np.float32)).save(tmp_path / "f.tif")
    code, line = _error(capsys, ["denoise", str(tmp_path / "f.tif"),
                                 str(tmp_path / "o.tif"), "--sigma", "5",
                                 "--model", str(model)])
    assert code == 2 and "data-range" in line.replace("data_range",
                                                      "data-range")
    assert main(["denoise", str(tmp_path / "f.tif"), str(tmp_path / "o.tif"),
                 "--sigma", "5", "--data-range", "255",
                 "--model", str(model)]) == 0
    out = read_image(tmp_path / "o.tif")
    assert out.dtype == np.float32 and abs(out.mean() - gray.mean()) < 2
    # to an 8-bit file: scaled by the white level (it was all white)
    assert main(["denoise", str(tmp_path / "f.tif"), str(tmp_path / "o.png"),
                 "--sigma", "15", "--data-range", "255",
                 "--model", str(model)]) == 0
    png = read_image(tmp_path / "o.png")
    assert png.dtype == np.uint8 and abs(png.mean() - gray.mean()) < 2


def test_sigma_is_estimated_when_not_given(files, tmp_path, capsys):
    rgb = load_sample_image("flower.jpg")[150:246, 250:346]
    gray = (rgb @ np.array([0.2125, 0.7154, 0.0721])).astype(np.uint8)
    rng = np.random.RandomState(0)
    noisy = np.clip(gray + 15 * rng.randn(*gray.shape), 0, 255).astype(np.uint8)
    write_image(tmp_path / "noisy.png", noisy)
    assert main(["denoise", str(tmp_path / "noisy.png"),
                 str(tmp_path / "out.png")]) == 0
    told = _told_sigma(capsys.readouterr().err)
    assert 12 < told < 20  # on the 0-255 scale, as --sigma takes it
    # on the image's own scale with --data-range: the same noise
    write_image(tmp_path / "noisy.tif", noisy.astype(np.float32))
    assert main(["denoise", str(tmp_path / "noisy.tif"),
                 str(tmp_path / "out.tif"), "--data-range", "255"]) == 0
    assert _told_sigma(capsys.readouterr().err) == pytest.approx(told,
                                                                 rel=0.01)
    assert main(["denoise", str(tmp_path / "noisy.png"),
                 str(tmp_path / "given.png"), "--sigma", "15"]) == 0
    assert "estimated noise level" not in capsys.readouterr().err
    auto = psnr(gray, read_image(tmp_path / "out.png"))
    given = psnr(gray, read_image(tmp_path / "given.png"))
    assert given > psnr(gray, noisy) + 2
    assert auto > given - 0.3


def _told_sigma(err):
    """The noise level the command said it estimated."""
    line, = [line for line in err.splitlines()
             if "estimated noise level" in line]
    assert "--sigma" in line
    return float(line.split("--sigma ")[1].split()[0])


def test_a_sigma_in_the_wrong_units_warns_in_one_line(files, tmp_path,
                                                      capsys):
    d, gray, model = files
    rng = np.random.RandomState(0)
    noisy = np.clip(gray + 15 * rng.randn(*gray.shape), 0, 255).astype(np.uint8)
    write_image(tmp_path / "noisy.png", noisy)
    assert main(["denoise", str(tmp_path / "noisy.png"),
                 str(tmp_path / "out.png"), "--sigma", "0.06",
                 "--model", str(model)]) == 0
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if "warning" in line]
    assert len(warned) == 1, err
    assert warned[0].startswith("sksm denoise: warning: ")
    assert "far from the noise" in warned[0]
    assert ".py:" not in err and "UserWarning" not in err


def test_a_misspelt_option_shows_the_usage_of_its_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["denoise", "in.png", "out.png", "--sigmaa", "3"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: sksm denoise ")
    assert "--sigma SIGMA" in err      # the command's options are shown
    assert err.strip().splitlines()[-1] == (
        "sksm denoise: error: unrecognized arguments: --sigmaa 3 "
        "(did you mean --sigma?)")


def test_version_and_progress(files, tmp_path, capsys):
    from sksm import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out
    d, _, model = files
    assert main(["denoise", str(d / "gray.png"), str(tmp_path / "o.png"),
                 "--sigma", "5", "--model", str(model), "--progress",
                 "--tile-size", "32"]) == 0
    err = capsys.readouterr().err
    assert "denoise" in err and "wrote" in err


def test_a_failed_write_gives_one_line(files, capsys, tmp_path,
                                       monkeypatch):
    from PIL import Image as PILImage

    d, _, model = files

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PILImage.Image, "save", full_disk)
    code, line = _error(capsys, ["denoise", str(d / "gray.png"),
                                 str(tmp_path / "o.png"), "--sigma", "5",
                                 "--model", str(model)])
    assert code == 2 and line.startswith(
        f"sksm denoise: error: {tmp_path / 'o.png'}: cannot write the image: "
        "no space left on the device; free some space")


def test_a_jpeg_keeps_its_quality_and_colour_profile(files, tmp_path):
    from PIL import ImageCms

    d, _, model = files
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    rgb = read_image(d / "rgb.png")
    Image.fromarray(rgb).save(tmp_path / "q90.jpg", quality=90,
                              icc_profile=icc)
    q90 = read_image(tmp_path / "q90.jpg")
    for out, extra in (("kept.jpg", []), ("q50.jpg", ["--quality", "50"])):
        assert main(["denoise", str(tmp_path / "q90.jpg"), str(tmp_path / out),
                     "--sigma", "5", "--model", str(model)] + extra) == 0
    with Image.open(tmp_path / "kept.jpg") as kept:
        assert kept.info["icc_profile"] == icc
    from sksm.io import load_model
    from sksm.restoration import denoise

    denoised = denoise(q90, 5 / 255, model=load_model(model), channel_axis=-1)
    size = {name: (tmp_path / name).stat().st_size
            for name in ("q90.jpg", "kept.jpg", "q50.jpg")}
    # measured: the input's size within 1 %, its encoding 11 dB above the
    # input's (the result is smoother); at Pillow's default 75: 67 % of the
    # size and 2.2 dB below the input's
    assert abs(size["kept.jpg"] / size["q90.jpg"] - 1) < 0.15
    assert psnr(denoised, read_image(tmp_path / "kept.jpg")) > \
        psnr(rgb, q90) - 1
    assert size["q50.jpg"] < 0.75 * size["kept.jpg"]


def test_a_quality_for_a_lossless_output_is_refused_before_the_work(
        files, capsys, tmp_path):
    d, _, model = files
    code, line = _error(capsys, ["denoise", str(d / "gray.png"),
                                 str(tmp_path / "o.png"), "--quality", "80",
                                 "--sigma", "5", "--model", str(model)])
    assert code == 2 and "JPEG and WebP" in line
    assert not (tmp_path / "o.png").exists()
    with pytest.raises(SystemExit):
        main(["denoise", str(d / "gray.png"), str(tmp_path / "o.jpg"),
              "--quality", "101"])
    assert "from 1 to 100" in capsys.readouterr().err
