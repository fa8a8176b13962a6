"""Time and peak memory of restoration against image size.

For grayscale images from 256x256 to 4000x3000 (12 megapixels), each run in
a fresh process, with the default (noise-conditional) prior and tiles:
``sksm.restoration.denoise`` (sigma 15/255, its annealed steps),
``denoise_colour`` (the colour photograph, sigma 15/255; ``sigma_none``
the same with the noise level estimated), ``super_resolve`` (x2, the output
of that size) and ``inpaint`` (20% of the pixels missing at random;
``inpaint_w`` with the first level fixed at 0.1, so that every tile is
filled under the prior, where the default may choose the biharmonic fill
for a smooth image), ``deconvolve`` (a 9-pixel motion blur, sigma 0.01;
``deconvolve_colour`` the colour photograph), ``sr_bicubic`` and
``sr_bicubic_x4`` (``super_resolve(kernel='bicubic')`` by 2 and 4, the
output of that size).  ``denoise_studentt`` is the paper's prior
(``model=load_pretrained_foe()``, its default FISTA).  The images are a
photograph (scikit-learn's china.jpg in grayscale) resized to each size
with a Lanczos filter.

Columns: seconds; microseconds per output pixel and its ratio to the
512x512 run; the peak resident memory of the process during the call, and
its rise above what the process held just before it (the interpreter, the
model and the float64 input image): the memory the call itself needs,
including its float copy of the image and its result.  Linux only (it
reads /proc/self/status).

Run:  python benchmarks/bench_restoration_scale.py [--sizes 256x256 ...]
      [--ops denoise super_resolve inpaint inpaint_w]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = ("256x256", "512x512", "1000x1000", "2000x1500", "4000x3000")
OPS = ("denoise", "denoise_studentt", "denoise_colour", "sigma_none",
       "super_resolve", "inpaint", "inpaint_w", "deconvolve",
       "deconvolve_colour", "sr_bicubic", "sr_bicubic_x4")
#: The low-resolution input of each super-resolution, ``factor`` times
#: smaller than the output.
FACTORS = {"super_resolve": 2, "sr_bicubic": 2, "sr_bicubic_x4": 4}
COLOUR = ("denoise_colour", "sigma_none", "deconvolve_colour")


def _motion(length=9):
    """A horizontal motion blur of ``length`` pixels."""
    psf = np.zeros((length, length))
    psf[length // 2] = 1 / length
    return psf


def _status_mb(field):
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak():
    """Start the peak resident memory (VmHWM) afresh (Linux >= 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _photo(height, width, colour=False):
    from PIL import Image
    from sklearn.datasets import load_sample_image

    rgb = Image.fromarray(load_sample_image("china.jpg")).resize(
        (width, height), Image.LANCZOS)
    rgb = np.asarray(rgb, dtype=np.float64) / 255
    return rgb if colour else rgb @ np.array([0.2125, 0.7154, 0.0721])


def one(op, path):
    """Run ``op`` on the image saved at ``path``; print a JSON line."""
    from sksm import load_pretrained_foe, restoration

    # the default prior of every task is the noise-conditional one
    model = load_pretrained_foe() if op == "denoise_studentt" else None
    image = np.load(path)
    if op.startswith("inpaint"):
        mask = np.random.default_rng(0).random(image.shape) < 0.2
    _reset_peak()
    before = _status_mb("VmRSS")
    start = time.perf_counter()
    if op in ("denoise", "denoise_studentt"):
        restoration.denoise(image, 15 / 255, model=model)
    elif op in ("denoise_colour", "sigma_none"):
        restoration.denoise(image, 15 / 255 if op == "denoise_colour"
                            else None, model=model, channel_axis=-1)
    elif op == "super_resolve":
        restoration.super_resolve(image, 2, model=model)
    elif op == "inpaint":
        restoration.inpaint(image, mask, model=model)
    elif op.startswith("deconvolve"):
        restoration.deconvolve(image, _motion(), 0.01, channel_axis=(
            -1 if op in COLOUR else None))
    elif op in FACTORS:
        restoration.super_resolve(image, FACTORS[op], kernel="bicubic")
    else:  # the prior's fill in every tile, whatever 'auto' would choose
        restoration.inpaint(image, mask, model=model, prior_weight=0.1)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "before_mb": before,
                      "peak_mb": _status_mb("VmHWM")}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES))
    parser.add_argument("--ops", nargs="+", default=list(OPS), choices=OPS)
    parser.add_argument("--one", nargs=2, metavar=("OP", "PATH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return one(*args.one)

    print(f"{'operation':<14}{'output':>11}{'seconds':>9}{'us/pixel':>10}"
          f"{'vs 512^2':>9}{'peak MB':>9}{'rise MB':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for op in args.ops:
            per_pixel_512 = None
            for size in args.sizes:
                height, width = (int(v) for v in size.split("x"))
                # super-resolution: the low-resolution input, output of size
                f = FACTORS.get(op, 1)
                image = _photo(height // f, width // f, colour=op in COLOUR)
                if op.startswith("denoise") or op == "sigma_none":
                    image = image + 15 / 255 * np.random.default_rng(
                        0).standard_normal(image.shape)
                path = Path(tmp) / "image.npy"
                np.save(path, image)
                out = subprocess.run(
                    [sys.executable, __file__, "--one", op, str(path)],
                    capture_output=True, text=True, check=True)
                result = json.loads(out.stdout.strip().splitlines()[-1])
                pixels = height * width
                us = 1e6 * result["seconds"] / pixels
                if size == "512x512":
                    per_pixel_512 = us
                ratio = (f"{us / per_pixel_512:9.2f}" if per_pixel_512
                         else f"{'-':>9}")
                print(f"{op:<14}{size:>11}{result['seconds']:9.1f}{us:10.2f}"
                      f"{ratio}{result['peak_mb']:9.0f}"
                      f"{result['peak_mb'] - result['before_mb']:9.0f}",
                      flush=True)


if __name__ == "__main__":
    main()
