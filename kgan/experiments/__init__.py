"""One definition of each experiment: protocols x methods = the rows ``kgan train`` runs.

* :mod:`kgan.experiments.protocols` -- data, networks, initialisation,
  optimisers, schedule and evaluation of each protocol (the VEEGAN 2D protocol
  on ring8/grid25/grid49/grid100; DCGAN on Fashion-MNIST and stacked
  Fashion-MNIST);
* :mod:`kgan.experiments.methods` -- how each kgan model is built on a
  protocol, with its own typed options and its ``kgan tune`` search space;
* :mod:`kgan.experiments.table` -- the rows ``<protocol>_<method>``;
* :mod:`kgan.experiments.classify` -- the classification rows
  (``fashion_mnist_cls_<mode>``, ``fashion_mnist_openset_<mode>``: AdaptiveMixClassifier
  with OOD detection).

    kgan list                                  # every row (and recipe file)
    kgan train grid25_mdgan --help             # the row's protocol and options
    kgan train grid25_mdgan --set lambda1=0.5  # checked against the options
"""
from kgan.experiments.methods import COMMON_SEARCH, GAN_SEARCH, METHODS, Method, add_method
from kgan.experiments.options import Option, Param
from kgan.experiments.protocols import PROTOCOLS, Image, Protocol, TwoD, add_protocol
from kgan.experiments.table import Row, gan_rows, settings_diff
from kgan.experiments import classify
from kgan.experiments.classify import Classification


def rows():
    """``{row name: row}`` for every row ``kgan train`` runs: the GAN rows (protocol x method, in
    :mod:`kgan.experiments.table`) and the classification rows (:mod:`kgan.experiments.classify`)."""
    return {**gan_rows(), **classify.rows()}


def get_row(name):
    """The row called ``name``, or None."""
    return rows().get(name)


__all__ = ["COMMON_SEARCH", "GAN_SEARCH", "METHODS", "Method", "add_method", "Option", "Param", "PROTOCOLS", "Image", "Protocol", "TwoD",
           "add_protocol", "Row", "get_row", "rows", "settings_diff", "Classification"]
