"""Inpainting benchmark: the Fields of Experts priors against the biharmonic
fill, on held-out images.

The 256x256 centre crops of the held-out images of bench_denoise.py (see
_images.py), grayscale, with two kinds of seeded masks: 40% of the pixels
missing at random, and scribbles (20 random strokes, 5 pixels wide).  PSNR
(data range 1) over the missing pixels only, per image and on average, and
seconds per image, for the biharmonic fill
(``sksm.posterior.biharmonic_fill``, what
``skimage.restoration.inpaint_biharmonic`` computes), the prior's MAP alone
(``FieldsOfExperts.inpaint(smoothness=0)``, the paper's procedure, from the
biharmonic fill), and FieldsOfExperts.inpaint's default: the prior plus the
biharmonic smoothness term, the prior's weight chosen for each image from
the image itself (``prior_weight='auto'``; its grid was chosen on the
training and calibration images); and the default of
``sksm.restoration.inpaint``, the noise-conditional prior's annealed steps
from the biharmonic fill, their first level chosen for each image from the
image itself (its grid, ``sksm.posterior.INPAINT_FIRST_LEVELS``, chosen on
the calibration images).
The last column is the default's gain over the biharmonic fill.
--calibration reports on the calibration images instead.

Run:  python benchmarks/bench_inpaint.py [--model foe.npz] [--calibration]
"""

import argparse
import time

import numpy as np
from _images import (
    SHIPPED_SPLIT,
    centre_crop,
    kind_of,
    load,
    load_foe,
    split,
)

from sksm.posterior import biharmonic_fill
from sksm.restoration import inpaint


def masks(shape, seed):
    """``{'random 40%': mask, 'scribbles': mask}``, seeded."""
    rng = np.random.default_rng(seed)
    random = rng.random(shape) < 0.4
    scribbles = np.zeros(shape, bool)
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    for _ in range(20):
        (r0, c0), (r1, c1) = rng.random((2, 2)) * shape
        # distance of every pixel to the segment (r0, c0)-(r1, c1)
        dr, dc = r1 - r0, c1 - c0
        t = np.clip(((rows - r0) * dr + (cols - c0) * dc)
                    / max(dr * dr + dc * dc, 1e-9), 0, 1)
        dist = np.hypot(rows - r0 - t * dr, cols - c0 - t * dc)
        scribbles |= dist < 2.5
    return {"random 40%": random, "scribbles": scribbles}


def masked_psnr(clean, estimate, mask):
    mse = np.mean((clean[mask] - estimate[mask]) ** 2)
    return float(10 * np.log10(1 / mse))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="FieldsOfExperts .npz (default: the "
                                        "pretrained prior)")
    parser.add_argument("--split", type=int, default=SHIPPED_SPLIT)
    parser.add_argument("--calibration", action="store_true",
                        help="the calibration images instead")
    args = parser.parse_args(argv)
    model = load_foe(args.model)
    names = split(args.split)["calibration" if args.calibration
                              else "held-out"]
    ways = {
        "biharmonic": lambda x, m: biharmonic_fill(x, m),
        "FoE alone (paper)": lambda x, m: model.inpaint(x, m, smoothness=0),
        "FoE + smooth (auto)": lambda x, m: model.inpaint(x, m),
        "noise-cond. (default)": lambda x, m: inpaint(x, m),
    }
    scores = {(k, w): [] for k in ("random 40%", "scribbles") for w in ways}
    seconds = {w: [] for w in ways}
    which = "calibration" if args.calibration else "held-out"
    print(f"Inpainting, PSNR (dB) of the missing pixels, {which} images of "
          f"split {args.split}")
    print(f"{'image':22}{'kind':12}{'mask':12}"
          + "".join(f"{w:>23}" for w in ways) + f"{'gain':>10}")
    for i, name in enumerate(names):
        clean = centre_crop(load(name))
        for kind, mask in masks(clean.shape, i).items():
            damaged = np.where(mask, 0.0, clean)
            row = []
            for w, fn in ways.items():
                start = time.perf_counter()
                out = fn(damaged, mask)
                seconds[w].append(time.perf_counter() - start)
                scores[kind, w].append(masked_psnr(clean, out, mask))
                row.append(scores[kind, w][-1])
            print(f"{name:22}{kind_of(name):12}{kind:12}"
                  + "".join(f"{v:23.2f}" for v in row)
                  + f"{row[-1] - row[0]:+10.2f}", flush=True)
    print(f"\n{'mean':46}" + "".join(f"{w:>23}" for w in ways))
    base, *_, default = ways
    for kind in ("random 40%", "scribbles"):
        gain = np.subtract(scores[kind, default], scores[kind, base])
        print(f"{'':34}{kind:12}" + "".join(
            f"{np.mean(scores[kind, w]):23.2f}" for w in ways)
            + f"{gain.mean():+10.2f}   (min {gain.min():+.2f}, below on "
              f"{np.sum(gain < 0)} of {gain.size})")
    print(f"{'seconds per image (median)':46}" + "".join(
        f"{np.median(seconds[w]):23.2f}" for w in ways))


if __name__ == "__main__":
    main()
