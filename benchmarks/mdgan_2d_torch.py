"""An independent MDGAN on ring8, in plain PyTorch: does kgan's MDGAN failure on ring8 belong to kgan?

    pip install -r benchmarks/requirements-speed.txt
    python benchmarks/mdgan_2d_torch.py SEED [STEPS] [mdgan|gan] [ring8|grid25]

The VEEGAN 2D networks (G: z 256 -> 128 tanh -> 128 tanh -> 2; D1, D2: 2 -> 128 tanh ->
128 tanh -> 1; E: 2 -> 128 tanh -> 128 tanh -> 256; Glorot-uniform weights, zero biases),
one Adam(1e-3, beta1 0.5) per network, batch 512, ring8 (8 Gaussians of sigma 0.01 on the
unit circle; or grid25: 25 Gaussians of sigma 0.05 at {-4, -2, 0, 2, 4}^2), and Che et al. 2017's Algorithm 1 as kgan's ``MDGAN`` runs it: manifold
step (D1 on x vs G(E(x)); G and E on 0.2 ||x - G(E(x))||^2 - log D1(G(E(x)))), then
diffusion step (D2 on G(E(x)) as real vs G(z); G on -log D2(G(z))). ``gan`` runs the
plain non-saturating GAN on the same networks instead, an independent check of kgan's
2D baseline. Every 2,500 steps it prints the
two discriminators' losses, the unweighted reconstruction error and, on 2,500 samples,
the modes holding a sample within 3 sigma of their mean and the fraction of such samples
(high-quality samples), counted as ``kgan.metrics.mode_coverage`` counts them. Nothing of
kgan is imported; what it measured is in docs/bench/veegan2d.notes.md.
"""
import sys, math, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
seed = int(sys.argv[1])
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 25_000
mode = sys.argv[3] if len(sys.argv) > 3 else "mdgan"
torch.manual_seed(seed)
def mlp(i, o):
    m = nn.Sequential(nn.Linear(i, 128), nn.Tanh(), nn.Linear(128, 128), nn.Tanh(), nn.Linear(128, o))
    for l in m:
        if isinstance(l, nn.Linear): nn.init.xavier_uniform_(l.weight); nn.init.zeros_(l.bias)
    return m
G, D1, D2, E = mlp(256, 2), mlp(2, 1), mlp(2, 1), mlp(2, 256)
opt = lambda p: torch.optim.Adam(p, 1e-3, betas=(0.5, 0.999), eps=1e-8)
oD1, oD2, oG, oE = opt(D1.parameters()), opt(D2.parameters()), opt(G.parameters()), opt(E.parameters())
dataset = sys.argv[4] if len(sys.argv) > 4 else "ring8"
if dataset == "ring8":
    means, sigma = torch.tensor([[math.cos(2*math.pi*k/8), math.sin(2*math.pi*k/8)] for k in range(8)]), 0.01
elif dataset == "grid25":
    means, sigma = torch.tensor([[-4. + 2 * i, -4. + 2 * j] for i in range(5) for j in range(5)]), 0.05
else:
    sys.exit(f"dataset must be ring8 or grid25, got {dataset!r}")
K = len(means)
def data(n): return means[torch.randint(0, K, (n,))] + sigma * torch.randn(n, 2)
bce = F.binary_cross_entropy_with_logits
def dloss(D, r, f): lr, lf = D(r), D(f); return bce(lr, torch.ones_like(lr)) + bce(lf, torch.zeros_like(lf))
def gadv(l): return bce(l, torch.ones_like(l))
for t in range(steps):
    x = data(512)
    if mode == "mdgan":
        with torch.no_grad(): xr = G(E(x))
        l1 = dloss(D1, x, xr); oD1.zero_grad(); l1.backward(); oD1.step()
        xr = G(E(x)); geo = ((x - xr) ** 2).sum(1).mean(); m = 0.2 * geo + gadv(D1(xr))
        oG.zero_grad(); oE.zero_grad(); m.backward(); oG.step(); oE.step()
        with torch.no_grad(): xr = G(E(x)); xf = G(torch.randn(512, 256))
        l2 = dloss(D2, xr, xf); oD2.zero_grad(); l2.backward(); oD2.step()
        g = gadv(D2(G(torch.randn(512, 256)))); oG.zero_grad(); g.backward(); oG.step()
    else:
        with torch.no_grad(): xf = G(torch.randn(512, 256))
        l1 = dloss(D1, x, xf); oD1.zero_grad(); l1.backward(); oD1.step(); l2 = geo = torch.tensor(0.)
        g = gadv(D1(G(torch.randn(512, 256)))); oG.zero_grad(); g.backward(); oG.step()
    if (t + 1) % 2500 == 0:
        with torch.no_grad():
            s = G(torch.randn(2500, 256)); d = torch.cdist(s, means); dm, k = d.min(1); hq = dm < 3 * sigma
            modes = len(set(k[hq].tolist()))
            print(f"{dataset} seed {seed} step {t+1}: d1 {l1.item():.3f} d2 {l2.item():.3f} geo {geo.item():.4f} "
                  f"modes {modes}/{K} hq {hq.float().mean().item()*100:.1f}%", flush=True)
