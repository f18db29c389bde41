"""kgan layers: ``keras.layers.Layer`` subclasses used by kgan networks and methods.

One import line per module; every layer is registered with
``keras.saving.register_keras_serializable(package="kgan")``, so importing this
package is enough to load a ``.keras`` file that contains them.
"""
from kgan.layers.conditional import ClassEmbedding, ConditionalBatchNormalization, HypersphereProjection
from kgan.layers.mixing import MIXING_METHODS, AdaptiveMix, CutMix, Mixup, SRMix, mixing_layer
from kgan.layers.replay_buffer import ReplayBuffer
from kgan.layers.diffaugment import DIFFAUGMENT_OPS, DiffAugment
