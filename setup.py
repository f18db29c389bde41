"""kgan: GANs that do not collapse, for Keras 3 on the TensorFlow backend."""
from setuptools import find_packages, setup

COMMON = [
    "keras>=3.15,<4",
    "tensorflow-datasets>=4.9",
    "importlib_resources",  # tfds 4.9.10 on Python 3.11 needs it to build datasets
    "keras-tuner>=1.4.8",
    "tensorboard>=2.21",  # TF 2.21 no longer pulls it in; tf.summary needs it
    "numpy",
    "scipy",
    "scikit-learn",  # sklearn digits, the offline built-in image set
    "matplotlib",
    "pillow",
    "tqdm",
]

setup(
    name="kgan",
    version="0.1.0",
    description="GANs that do not collapse: ReACGAN, sample mixing, AdaptiveMix, "
    "MaEM-GAN and mode-regularised GANs for Keras 3 / TensorFlow",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["kgan", "kgan.*"]),
    install_requires=COMMON,
    extras_require={
        # Pick one TensorFlow build. `cpu` is what the README commands install.
        "cpu": ["tensorflow-cpu>=2.21,<2.22"],
        "gpu": ["tensorflow[and-cuda]>=2.21,<2.22"],
        "test": ["tensorflow-cpu>=2.21,<2.22", "pytest>=8", "pytest-timeout", "pytest-xdist>=3"],
    },
    entry_points={"console_scripts": ["kgan=kgan.cli:main"]},
)
