"""Train the noise-conditional Field of Experts that ships as
sksm/data/ncfoe_7x7x48.npz.

48 zero-mean filters of 7x7, each with a Gaussian scale mixture expert of 16
scales, learned by denoising score matching over noise levels drawn
log-uniformly in [1, 60] / 255 (``NoiseConditionalDSM()``), 3,000 Adam steps
of 32 patches of 40x40, drawn at random (mirrored and turned) from the
training images of the shipped split of ``_images.py`` and from their 2x and
4x reductions (Lanczos; a reduction keeps the statistics of a photograph at
another distance and has less sensor noise).  No calibration or held-out
image is seen; the denoising schedule was chosen on the calibration crops
(``bench_prior.py --schedules``).

Run:  python benchmarks/train_pretrained_ncfoe.py [-o path] [--max-iter N]
                                                   [--split N]
"""

import argparse
import time
from pathlib import Path

import numpy as np
from _images import SHIPPED_SPLIT, training_images
from PIL import Image

from sksm import NoiseConditionalFieldsOfExperts
from sksm.io import save_model

DEFAULT_OUTPUT = (Path(__file__).resolve().parents[1] / "sksm" / "data"
                  / "ncfoe_7x7x48.npz")


def pyramid(images, factors=(2, 4), min_side=64):
    """Every image and its reductions by ``factors`` (Lanczos), those at
    least ``min_side`` pixels a side."""
    out = []
    for image in images:
        out.append(image)
        for f in factors:
            h, w = image.shape[0] // f, image.shape[1] // f
            if min(h, w) < min_side:
                continue
            im = Image.fromarray(image.astype(np.float32), mode="F")
            out.append(np.asarray(im.resize((w, h), Image.LANCZOS),
                                  dtype=np.float64))
    return out


def train(max_iter=3000, split=SHIPPED_SPLIT, seed=0, verbose=0, **params):
    images = pyramid(training_images(split))
    model = NoiseConditionalFieldsOfExperts(max_iter=max_iter,
                                            random_state=seed,
                                            verbose=verbose, **params)
    start = time.perf_counter()
    model.fit(images)
    model.train_seconds = time.perf_counter() - start
    return model, len(images)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--max-iter", type=int, default=3000)
    parser.add_argument("--split", type=int, default=SHIPPED_SPLIT)
    args = parser.parse_args(argv)
    model, n_images = train(args.max_iter, args.split, verbose=1)
    print(f"trained on {n_images} images (with reductions) of split "
          f"{args.split}: {model.n_iter_} steps in {model.train_seconds:.0f} s,"
          f" mean loss of the last 100 {np.mean(model.loss_curve_[-100:]):.4f}")
    print("saved", save_model(model, args.output))


if __name__ == "__main__":
    main()
