"""The images of the benchmarks and of the pretrained prior, in one place,
split into training, calibration and held-out sets of every kind.

Photographs of eight kinds come from packages: scikit-learn's china.jpg,
the photographs that ship inside scikit-image, matplotlib's
grace_hopper.jpg, and the photographs among Debian's desktop backgrounds
(``mate-backgrounds``, its nature set, and ``plasma-workspace-wallpapers``;
both GPL-2+, see their copyright files; the illustrations are left out).
The Debian packages are fetched by ``apt-get download`` and unpacked with
``dpkg-deb -x`` into ``benchmarks/.data`` the first time a benchmark needs
them; the sksm package itself never downloads anything.  No aerial
photograph ships in a package we found.

Large photographs are downscaled by an integer factor (Lanczos) to a longer
side of about 640 pixels, so that JPEG artefacts and sensor noise do not
count as image content.

:func:`split` assigns the images of every kind at random (seeded) to the
three sets: about a third held out, one image for calibration when a kind
has four or more, the rest for training.  Every choice made from data
(training, calibration of prior weights and schedules, tuning of the
baselines) uses the training or calibration images only; benchmarks report
on the held-out images.  ``SHIPPED_SPLIT`` is the split of the pretrained
prior.
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np

SHIPPED_SPLIT = 0
DATA = Path(__file__).resolve().parent / ".data"

# name: (kind, source, where)
CATALOGUE = {
    # people and animals
    "camera": ("people", "skimage", "camera"),
    "astronaut": ("people", "skimage", "astronaut"),
    "chelsea": ("people", "skimage", "chelsea"),
    "grace_hopper": ("people", "matplotlib", "grace_hopper.jpg"),
    # buildings
    "china": ("buildings", "sklearn", "china.jpg"),
    "rocket": ("buildings", "skimage", "rocket"),
    "grey_facade": ("buildings", "plasma", "Grey"),
    # landscapes
    "dune": ("landscapes", "mate", "nature/Dune.jpg"),
    "storm": ("landscapes", "mate", "nature/Storm.jpg"),
    "by_the_water": ("landscapes", "plasma", "BytheWater"),
    "cold_ripple": ("landscapes", "plasma", "ColdRipple"),
    "darkest_hour": ("landscapes", "plasma", "DarkestHour"),
    "evening_glow": ("landscapes", "plasma", "EveningGlow"),
    "summer_1am": ("landscapes", "plasma", "summer_1am"),
    "forest_path": ("landscapes", "plasma", "Path"),
    "kite_sky": ("landscapes", "plasma", "Kite"),
    # close-ups (scikit-learn's flower.jpg is in no set: the demo and the
    # tests use it as a photograph the pretrained prior never saw)
    "aqua": ("close-ups", "mate", "nature/Aqua.jpg"),
    "blinds": ("close-ups", "mate", "nature/Blinds.jpg"),
    "fresh_flower": ("close-ups", "mate", "nature/FreshFlower.jpg"),
    "garden": ("close-ups", "mate", "nature/Garden.jpg"),
    "ladybird": ("close-ups", "mate", "nature/LadyBird.jpg"),
    "rain_drops": ("close-ups", "mate", "nature/RainDrops.jpg"),
    "two_wings": ("close-ups", "mate", "nature/TwoWings.jpg"),
    "yellow_flower": ("close-ups", "mate", "nature/YellowFlower.jpg"),
    "fallen_leaf": ("close-ups", "plasma", "FallenLeaf"),
    # textures
    "brick": ("textures", "skimage", "brick"),
    "grass": ("textures", "skimage", "grass"),
    "gravel": ("textures", "skimage", "gravel"),
    "moon": ("textures", "skimage", "moon"),
    "meadow": ("textures", "mate", "nature/GreenMeadow.jpg"),
    "wood": ("textures", "mate", "nature/Wood.jpg"),
    "foliage": ("textures", "plasma", "OneStandsOut"),
    # objects
    "coffee": ("objects", "skimage", "coffee"),
    "coins": ("objects", "skimage", "coins"),
    "motorcycle": ("objects", "skimage", "stereo_motorcycle"),
    "cups": ("objects", "plasma", "ColorfulCups"),
    # documents
    "text": ("documents", "skimage", "text"),
    "page": ("documents", "skimage", "page"),
    # science: microscopy, astronomy, medicine
    "hubble": ("science", "skimage", "hubble_deep_field"),
    "immunohistochemistry": ("science", "skimage", "immunohistochemistry"),
    "retina": ("science", "skimage", "retina"),
    "cell": ("science", "skimage", "cell"),
}
KINDS = sorted({kind for kind, _, _ in CATALOGUE.values()})
_PACKAGES = {"mate": "mate-backgrounds",
             "plasma": "plasma-workspace-wallpapers"}
_ROOTS = {"mate": "usr/share/backgrounds/mate",
          "plasma": "usr/share/wallpapers"}


def _unpacked(source):
    """The unpacked Debian package of ``source``, fetched if needed."""
    package = _PACKAGES[source]
    root = DATA / package
    if not root.exists():
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise RuntimeError(f"{package} is needed and this machine has no "
                               "apt-get and dpkg-deb to fetch it.")
        DATA.mkdir(exist_ok=True)
        try:
            subprocess.run(["apt-get", "download", package], cwd=DATA,
                           check=True, capture_output=True, text=True)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(
                f"apt-get download {package} failed ({exc.stderr.strip()}); "
                "on a fresh machine run 'apt-get update' first.") from None
        deb = next(DATA.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        deb.unlink()
    return root


def _debian_file(source, where):
    root = _unpacked(source) / _ROOTS[source]
    if source == "mate":
        return root / where
    images = sorted((root / where / "contents" / "images").glob("*"))
    return max(images, key=lambda p: p.stat().st_size)


def _downscaled(rgb, target=640):
    """An integer factor down (Lanczos) to a longer side near ``target``."""
    from PIL import Image

    factor = max(1, round(max(rgb.shape[:2]) / target))
    if factor == 1:
        return rgb
    im = Image.fromarray(rgb)
    return np.asarray(im.resize((im.width // factor, im.height // factor),
                                Image.LANCZOS))


def load(name, colour=False):
    """Image ``name`` of the catalogue, in [0, 1]: gray (ITU-R 709
    luminance) or, with ``colour``, RGB (gray images stay gray)."""
    _, source, where = CATALOGUE[name]
    if source == "skimage":
        import skimage.data

        rgb = getattr(skimage.data, where)()
        if isinstance(rgb, tuple):  # stereo_motorcycle: the left view
            rgb = rgb[0]
    elif source == "sklearn":
        from sklearn.datasets import load_sample_image

        rgb = load_sample_image(where)
    else:
        from PIL import Image

        if source == "matplotlib":
            import matplotlib

            path = Path(matplotlib.get_data_path()) / "sample_data" / where
        else:
            path = _debian_file(source, where)
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
    rgb = _downscaled(np.asarray(rgb)[..., :3] if np.ndim(rgb) == 3
                      else np.asarray(rgb))
    return rgb / 255.0 if colour else gray(rgb)


def gray(image):
    """Luminance in [0, 1] (ITU-R 709 weights, as skimage.color.rgb2gray)."""
    image = np.asarray(image, dtype=np.float64) / 255.0
    if image.ndim == 3:
        image = image[..., :3] @ np.array([0.2125, 0.7154, 0.0721])
    return image


def split(seed=SHIPPED_SPLIT):
    """``{'train': names, 'calibration': names, 'held-out': names}``.

    Within every kind, in a random order drawn from ``seed``: the first
    third (at least one image) held out, then one image for calibration if
    the kind has four or more, the rest for training.
    """
    rng = np.random.default_rng(seed)
    sets = {"train": [], "calibration": [], "held-out": []}
    for kind in KINDS:
        names = sorted(n for n, (k, _, _) in CATALOGUE.items() if k == kind)
        names = [names[i] for i in rng.permutation(len(names))]
        n_held = max(1, round(len(names) / 3))
        sets["held-out"] += names[:n_held]
        rest = names[n_held:]
        if len(names) >= 4:
            sets["calibration"].append(rest.pop(0))
        sets["train"] += rest
    return {key: sorted(value) for key, value in sets.items()}


def centre_crop(image, size=256):
    height, width = image.shape[:2]
    h, w = min(size, height), min(size, width)
    top, left = (height - h) // 2, (width - w) // 2
    return image[top:top + h, left:left + w]


def training_images(seed=SHIPPED_SPLIT):
    """Grayscale training images of split ``seed``."""
    return [load(name) for name in split(seed)["train"]]


def calibration_crops(seed=SHIPPED_SPLIT, size=128):
    """Centre and top-left crops of the calibration images of ``seed``."""
    crops = []
    for name in split(seed)["calibration"]:
        image = load(name)
        crops += [centre_crop(image, size), image[:size, :size]]
    return crops


def test_crops(size=256, colour=False, seed=SHIPPED_SPLIT):
    """``{name: crop}``: the centre crops of the held-out images."""
    return {name: centre_crop(load(name, colour), size)
            for name in split(seed)["held-out"]}


def kind_of(name):
    return CATALOGUE[name][0]


def load_foe(path=None):
    """The FieldsOfExperts saved at ``path``, or the pretrained prior."""
    from sksm import load_pretrained_foe
    from sksm.io import load_model

    return load_model(path) if path else load_pretrained_foe()
