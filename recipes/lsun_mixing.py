"""lsun_mixing: SNGAN-ResNet on LSUN 64x64 (tfds "lsun/bedroom" by default) with sample mixing, paper scale.

Same model, options and schedule as celeba_mixing (ResNet-64, SN-D, hinge, Adam(2e-4, 0.0,
0.999), batch 64, 100k steps, ``--set method=baseline|mixup|cutmix|srmix|adaptivemix``), on a
TensorFlow Datasets LSUN category (``--set category=church_outdoor`` etc.), centre-cropped to a
square and resized to 64x64. tfds' LSUN must be prepared once (a large download).

    kgan train lsun_mixing --set method=srmix
    kgan train lsun_mixing --set category=church_outdoor --set method=mixup --set data_dir=/data/tfds
"""
import importlib.util
import os

import kgan
from kgan.experiments.options import Option

DEFAULTS = dict(steps=100_000, steps_per_epoch=1_000, batch_size=64)


def _celeba_recipe():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "celeba_mixing.py")
    spec = importlib.util.spec_from_file_location("kgan_recipe_celeba_mixing", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


OPTIONS = _celeba_recipe().OPTIONS + (
    Option("category", str, "bedroom", "the LSUN category of tfds' lsun/CATEGORY (e.g. church_outdoor)"),
)


def main(cfg):
    dataset = f"lsun/{cfg.extra.get('category', 'bedroom')}"
    return _celeba_recipe().main(cfg, dataset=dataset, resize=kgan.data.Resize(64, crop="center"))


if __name__ == "__main__":
    kgan.run.cli(__file__)
