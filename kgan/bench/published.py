"""Published figures beside which kgan's rows are shown, defined once.

2D: VEEGAN (Srivastava et al. 2017) Table 1 -- GAN, ALI, Unrolled GAN, VEEGAN;
the WGAN-GP and GDPP-GAN rows are from the GDPP paper (Elfeki et al. 2019),
same protocol: modes captured (of 8 / 25) and % high-quality samples.
Stacked MNIST (1000 modes): DCGAN and VEEGAN from VEEGAN Table 2, PacDCGAN2 from
PacGAN, Reg-GAN / WGAN-GP / GDPP from the GDPP paper. Fashion-MNIST: Lucic et
al. 2018's Inception FIDs (a different feature space from kgan's domain
classifier: shown for orientation only).
"""

#: {dataset: (note, [(model, {metric: value})])}
PUBLISHED = {
    "ring8": ("VEEGAN Table 1; WGAN-GP and GDPP rows from the GDPP paper; same protocol", [
        ("GAN", {"modes": 1, "hq": 99.3}), ("ALI", {"modes": 2.8, "hq": 0.13}),
        ("Unrolled GAN", {"modes": 7.6, "hq": 35.6}), ("VEEGAN", {"modes": 8, "hq": 52.9}),
        ("WGAN-GP", {"modes": 6.8, "hq": 59.6}), ("GDPP-GAN", {"modes": 8.0, "hq": 71.7})]),
    "grid25": ("VEEGAN Table 1; WGAN-GP and GDPP rows from the GDPP paper; same protocol", [
        ("GAN", {"modes": 3.3, "hq": 0.5}), ("ALI", {"modes": 15.8, "hq": 1.6}),
        ("Unrolled GAN", {"modes": 23.6, "hq": 16}), ("VEEGAN", {"modes": 24.6, "hq": 40}),
        ("WGAN-GP", {"modes": 24.2, "hq": 28.7}), ("GDPP-GAN", {"modes": 24.8, "hq": 68.5})]),
    "stacked": ("stacked MNIST, 1000 modes (other data than stacked Fashion-MNIST: orientation only)", [
        ("DCGAN (VEEGAN setting)", {"modes": 99, "kl": 3.40}), ("VEEGAN", {"modes": 150, "kl": 2.95}),
        ("PacDCGAN2", {"modes": 1000, "kl": 0.06}), ("Reg-GAN (GDPP setting)", {"modes": 955, "kl": 0.925}),
        ("WGAN-GP (GDPP setting)", {"modes": 995, "kl": 0.148}), ("GDPP", {"modes": 1000, "kl": 0.135})]),
    "fashion_mnist": ("Lucic et al. 2018, Inception FID: another feature space than kgan's domain-classifier "
                      "FD, so not comparable, shown for orientation", [
        ("NS GAN", {"fid": 26.5}), ("WGAN", {"fid": 21.5}), ("WGAN-GP", {"fid": 24.5}), ("BEGAN", {"fid": 22.9})]),
}
