"""The images of the benchmarks and of the pretrained model, in one place
(and the benchmarks' choice of model).

Training images (the pretrained prior's, and the tuning images of the
baselines) and test crops never overlap.  scikit-learn's flower.jpg is in
neither: ``sksm demo`` denoises it.
"""

import numpy as np

TEST_NAMES = ("camera", "astronaut", "coffee", "chelsea", "rocket", "moon",
              "coins")
TOP_LEFT_NAMES = ("camera", "astronaut", "moon", "coffee")


def gray(image):
    """Luminance in [0, 1] (ITU-R 709 weights, as skimage.color.rgb2gray)."""
    image = np.asarray(image, dtype=np.float64) / 255.0
    if image.ndim == 3:
        image = image[..., :3] @ np.array([0.2125, 0.7154, 0.0721])
    return image


def training_images():
    """Photographs of the training set: china (scikit-learn), and
    stereo_motorcycle (left view), brick, grass, gravel (scikit-image)."""
    import skimage.data as data
    from sklearn.datasets import load_sample_image

    images = [gray(load_sample_image("china.jpg")),
              gray(data.stereo_motorcycle()[0])]
    images += [gray(getattr(data, n)()) for n in ("brick", "grass", "gravel")]
    return images


def centre_crop(image, size=256):
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size]


def calibration_crops(size=128):
    """Centre and top-left crops of the two photographs among the training
    images."""
    return [crop for im in training_images()[:2]
            for crop in (centre_crop(im, size), im[:size, :size])]


def test_crops(size=256, colour=False):
    """The eleven 256x256 test crops: seven centre crops and four top-left
    crops, of photographs that ship with scikit-image."""
    import skimage.data as data

    def load(name):
        image = getattr(data, name)()
        return image / 255.0 if colour else gray(image)

    crops = {name: centre_crop(load(name), size) for name in TEST_NAMES}
    for name in TOP_LEFT_NAMES:
        crops[name + "-tl"] = load(name)[:size, :size]
    return crops


def load_foe(path=None):
    """The FieldsOfExperts saved at ``path``, or the pretrained prior."""
    from sksm import load_pretrained_foe
    from sksm.io import load_model

    return load_model(path) if path else load_pretrained_foe()
