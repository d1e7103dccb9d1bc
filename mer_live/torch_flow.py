"""Farneback optical flow in PyTorch, batched over frame pairs, on whatever device the frames are on.

The same algorithm and parameters as `cv2.calcOpticalFlowFarneback` (G. Farneback, "Two-frame motion
estimation based on polynomial expansion", SCIA 2003), so a model trained on OpenCV's flow can take this one:

- each pyramid level (coarse to fine, `pyr_scale` apart, none smaller than 32 px) blurs the full frame with a
  Gaussian of sigma (1/scale - 1) / 2 and resizes it bilinearly;
- a polynomial expansion fits x'Ax + b'x + c to each pixel's (2 poly_n + 1)^2 neighbourhood, weighted by a
  Gaussian of `poly_sigma` (separable correlations, edges replicated);
- from the flow so far (the coarser level's, upsampled and doubled) each pixel gets A = (A1(x) + A2(x + d)) / 2
  and db = (b1(x) - b2(x + d)) / 2 + A d, damped in a 5-pixel band at the frame's edges;
- A'A and A'db are averaged over a `winsize` window (a box; a Gaussian with OPTFLOW_FARNEBACK_GAUSSIAN) and
  the 2 x 2 system solved per pixel, `iterations` times per level.

Tolerance against OpenCV, per frame pair: the end-point error |flow_torch - flow_opencv| has a mean of at most
EPE_MEAN_TOLERANCE (0.001 px) and a 95th percentile of at most EPE_P95_TOLERANCE (0.002 px); the bundled demo
model's class probabilities move by at most 0.001. `tests/test_torch_flow.py` checks it on the CPU on shifted
textures, the synthetic faces and frames of the real test video. Measured (float32, CPU): worst pair's mean
2.4e-6 px and 95th percentile 7.7e-6 px (24 pairs of the real video at 640x360), 5.7e-7 / 1.7e-6 px (synthetic
faces, 64-224 px): float rounding and the order of sums. Leaving out any step above (the edge damping, a
level's blur) costs 0.01 px or more, so the tolerance catches it.
"""
from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F

OPTFLOW_FARNEBACK_GAUSSIAN = 256  # cv2.OPTFLOW_FARNEBACK_GAUSSIAN: a Gaussian window instead of a box
MIN_LEVEL_SIZE = 32               # OpenCV stops the pyramid before a level narrower than this
EDGE_DAMPING = (0.14, 0.14, 0.4472, 0.4472, 0.4472)  # weights of the outermost pixels' equations, edge first
EPE_MEAN_TOLERANCE = 0.001        # px: the stated agreement with cv2.calcOpticalFlowFarneback (see above)
EPE_P95_TOLERANCE = 0.002
DET_EPSILON = 1e-3                # keeps a textureless window's 2 x 2 system solvable (flow ~ 0 there)


def gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian of odd `size`; sigma <= 0 takes OpenCV's default for that size."""
    if sigma <= 0:
        small = {1: [1.0], 3: [0.25, 0.5, 0.25], 5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
                 7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125]}
        if size in small:
            return np.array(small[size])
        sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-x * x / (2 * sigma * sigma))
    return g / g.sum()


def _correlate(x: torch.Tensor, kernels: np.ndarray, axis: str, mode: str) -> list[torch.Tensor]:
    """Correlate x (N, C, H, W) with each row of `kernels` (K, 2h+1) along one axis ("y" or "x"), the edges
    padded by `mode`: a list of K tensors shaped like x.

    Shifted slices summed in place, not conv2d: torch's CPU convolutions are ~10x slower at these shapes, and on
    CUDA elementwise sums cannot fall back to TF32. Mirror pairs are summed (or subtracted) once and shared by
    the kernels, so a symmetric or antisymmetric kernel costs h + 1 multiply-adds per pixel."""
    half = kernels.shape[-1] // 2
    dim = x.ndim - 2 if axis == "y" else x.ndim - 1
    size = x.shape[dim]
    pads = (0, 0, half, half) if axis == "y" else (half, half, 0, 0)
    padded = F.pad(x, pads, mode=mode) if half else x

    def shifted(offset: int) -> torch.Tensor:
        return padded.narrow(dim, half + offset, size)

    centre = shifted(0)
    outs = [centre * float(k[half]) for k in kernels]
    pair = torch.empty_like(centre)
    for i in range(1, half + 1):
        even = (kernels[:, half + i] + kernels[:, half - i]) / 2
        odd = (kernels[:, half + i] - kernels[:, half - i]) / 2
        for coefficients, op in ((even, torch.add), (odd, torch.sub)):
            if not np.any(coefficients):
                continue
            op(shifted(i), shifted(-i), out=pair)
            for out, c in zip(outs, coefficients):
                if c:
                    out.add_(pair, alpha=float(c))
    return outs


def _separable(x: torch.Tensor, kernel: np.ndarray, mode: str) -> torch.Tensor:
    """The same 1-D kernel down the columns then along the rows, each channel on its own."""
    return _correlate(_correlate(x, kernel[None], "y", mode)[0], kernel[None], "x", mode)[0]


def _poly_basis(n: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The 1-D weights g, x g, x^2 g over -n..n, and the inverse of the weighted normal matrix of the basis
    (1, x, y, x^2, y^2, xy): the least-squares fit is that inverse times the image's six correlations."""
    if sigma < 1e-6:
        sigma = n * 0.3
    x = np.arange(-n, n + 1, dtype=np.float64)
    g = np.exp(-x * x / (2 * sigma * sigma))
    g /= g.sum()
    yy, xx = np.meshgrid(x, x, indexing="ij")
    basis = np.stack([np.ones_like(xx), xx, yy, xx * xx, yy * yy, xx * yy]).reshape(6, -1)
    weights = np.outer(g, g).ravel()
    normal = (basis * weights) @ basis.T
    return np.stack([g, x * g, x * x * g]), np.linalg.inv(normal)


def poly_expansion(image: torch.Tensor, n: int, sigma: float) -> torch.Tensor:
    """(N, 1, H, W) float -> (N, 5, H, W): b_x, b_y, a_xx, a_yy, a_xy (the x*y coefficient) at each pixel.

    Gaussian-weighted least squares over the (2n+1)^2 neighbourhood, edges replicated. The constant and the
    squares share a block of the normal matrix; OpenCV keeps only their diagonal and constant couplings, and
    so does this (it is what makes the two agree to rounding)."""
    kernels, inv = _poly_basis(n, sigma)
    c0, cy, cyy = _correlate(image[:, 0], kernels, "y", "replicate")  # g(y), y g(y), y^2 g(y) down the columns
    # then along the rows: 1 -> g(x), x g(x), x^2 g(x); y -> g(x), x g(x); y^2 -> g(x)
    r0, rx, rxx = _correlate(c0, kernels, "x", "replicate")
    ry, rxy = _correlate(cy, kernels[:2], "x", "replicate")
    (ryy,) = _correlate(cyy, kernels[:1], "x", "replicate")
    b_x = rx * inv[1, 1]
    b_y = ry * inv[2, 2]
    a_xx = r0 * inv[0, 3] + rxx * inv[3, 3]
    a_yy = r0 * inv[0, 4] + ryy * inv[4, 4]
    a_xy = rxy * inv[5, 5]
    return torch.stack([b_x, b_y, a_xx, a_yy, a_xy], dim=1)


def _sample(r: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear samples of r (N, C, H, W) at x + flow, in r's dtype, and where that point has all four
    neighbours inside (elsewhere the samples are not used).

    The point is rounded to float32 as OpenCV rounds it, then handed to grid_sample (7x quicker than four
    gathers on the CPU) in r's dtype: give float64. In float32 the trip through grid_sample's -1..1 coordinates
    moves the point by up to 1e-5 px, and where a window's 2 x 2 system is nearly singular that tips the flow
    by a pixel or more (seen on a synthetic face at 224 px)."""
    n, c, h, w = r.shape
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype) + flow[:, 0]
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype)[:, None] + flow[:, 1]
    x0, y0 = torch.floor(xs), torch.floor(ys)
    inside = (x0 >= 0) & (x0 < w - 1) & (y0 >= 0) & (y0 < h - 1)
    # align_corners maps -1..1 onto the pixel centres 0..w-1
    grid = torch.stack([xs.to(r.dtype) * (2.0 / max(w - 1, 1)) - 1, ys.to(r.dtype) * (2.0 / max(h - 1, 1)) - 1],
                       dim=-1)
    samples = F.grid_sample(r, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return samples.to(flow.dtype), inside.unsqueeze(1)


def _edge_weights(h: int, w: int, device, dtype) -> torch.Tensor:
    """(H, W) weights damping the equations of the outermost pixels, whose expansions saw replicated edges.

    Under 10 px a side OpenCV's test for the band (an unsigned comparison) misses its outermost pixels unless
    the other axis puts them in its band; that is kept, so tiny frames agree too."""
    band = len(EDGE_DAMPING)

    def ramp(size: int) -> tuple[torch.Tensor, torch.Tensor]:
        v = torch.ones(size, dtype=torch.float64)
        for i, d in enumerate(EDGE_DAMPING):
            if i < size:
                v[i] *= d
                v[size - 1 - i] *= d
        wrap = 2 ** 32
        in_band = torch.tensor([(i - band) % wrap >= (size - 2 * band) % wrap for i in range(size)])
        return v, in_band

    (wy, by), (wx, bx) = ramp(h), ramp(w)
    weights = wy[:, None] * wx[None, :]
    weights = torch.where(by[:, None] | bx[None, :], weights, torch.ones_like(weights))
    return weights.to(device=device, dtype=dtype)


def _equations(r0: torch.Tensor, r1: torch.Tensor, flow: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """Each pixel's normal equations for the flow update: (N, 5, H, W) = A'A (xx, xy, yy) and A'db (x, y).
    r1 is the second frame's expansion in float64 (see _sample); the rest is float32."""
    moved, inside = _sample(r1, flow)
    moved = torch.where(inside, moved, torch.zeros_like(moved))
    # A averages both frames' quadratic parts where the moved point is inside, else the first frame's alone
    a_xx = torch.where(inside[:, 0], (r0[:, 2] + moved[:, 2]) * 0.5, r0[:, 2])
    a_yy = torch.where(inside[:, 0], (r0[:, 3] + moved[:, 3]) * 0.5, r0[:, 3])
    a_xy = torch.where(inside[:, 0], (r0[:, 4] + moved[:, 4]) * 0.25, r0[:, 4] * 0.5)
    dx, dy = flow[:, 0], flow[:, 1]
    db_x = (r0[:, 0] - moved[:, 0]) * 0.5 + a_xx * dx + a_xy * dy
    db_y = (r0[:, 1] - moved[:, 1]) * 0.5 + a_xy * dx + a_yy * dy
    a_xx, a_yy, a_xy, db_x, db_y = (v * edges for v in (a_xx, a_yy, a_xy, db_x, db_y))
    return torch.stack([a_xx * a_xx + a_xy * a_xy, (a_xx + a_yy) * a_xy, a_yy * a_yy + a_xy * a_xy,
                        a_xx * db_x + a_xy * db_y, a_xy * db_x + a_yy * db_y], dim=1)


def _window_average(m: torch.Tensor, winsize: int, gaussian: bool) -> torch.Tensor:
    """Average the equations over the window: a box of winsize (OpenCV's default) or a Gaussian of that size."""
    half = winsize // 2
    if gaussian:
        kernel = gaussian_kernel(2 * half + 1, half * 0.3)
    else:  # an even winsize sums 2 * half + 1 rows and columns but divides by winsize^2, as OpenCV does
        kernel = np.full(2 * half + 1, 1.0 / winsize)
    n, c, h, w = m.shape
    return _separable(m.reshape(n * c, 1, h, w), kernel, "replicate").reshape(n, c, h, w)


def _solve(m: torch.Tensor) -> torch.Tensor:
    g11, g12, g22, h1, h2 = m.unbind(1)
    inv_det = 1.0 / (g11 * g22 - g12 * g12 + DET_EPSILON)
    return torch.stack([(g22 * h1 - g12 * h2) * inv_det, (g11 * h2 - g12 * h1) * inv_det], dim=1)


def pyramid_levels(height: int, width: int, pyr_scale: float, levels: int) -> int:
    """The coarsest level index OpenCV uses: fewer than asked when a level would be under 32 px."""
    scale = 1.0
    for k in range(levels):
        scale *= pyr_scale
        if width * scale < MIN_LEVEL_SIZE or height * scale < MIN_LEVEL_SIZE:
            return k
    return levels


def _level_image(frames: torch.Tensor, scale: float, size: tuple[int, int]) -> torch.Tensor:
    sigma = (1.0 / scale - 1.0) * 0.5
    ksize = max(round(sigma * 5) | 1, 3)
    # OpenCV reflects about the edge pixel; a 1-pixel side has nothing to reflect, so it repeats
    mode = "reflect" if min(frames.shape[-2:]) > 1 else "replicate"
    blurred = _separable(frames, gaussian_kernel(ksize, sigma), mode)
    if blurred.shape[-2:] == size:
        return blurred
    return F.interpolate(blurred, size=size, mode="bilinear", align_corners=False)


def farneback_flow(prev: torch.Tensor, next: torch.Tensor, pyr_scale: float = 0.5, levels: int = 3,
                   winsize: int = 15, iterations: int = 3, poly_n: int = 5, poly_sigma: float = 1.2,
                   flags: int = 0) -> torch.Tensor:
    """Flow from each frame in `prev` to the same one in `next`: (N, H, W) or (H, W), any real dtype (uint8
    0-255 like OpenCV), on any device -> (N, H, W, 2) or (H, W, 2) float32 dx, dy in pixels, on that device.

    The arguments are cv2.calcOpticalFlowFarneback's; flags may hold OPTFLOW_FARNEBACK_GAUSSIAN only."""
    if flags & ~OPTFLOW_FARNEBACK_GAUSSIAN:
        raise ValueError(f"unsupported Farneback flags {flags}: only OPTFLOW_FARNEBACK_GAUSSIAN "
                         f"({OPTFLOW_FARNEBACK_GAUSSIAN})")
    if prev.shape != next.shape or prev.ndim not in (2, 3):
        raise ValueError(f"flow needs two (N, H, W) or (H, W) stacks of one shape, got {tuple(prev.shape)} "
                         f"and {tuple(next.shape)}")
    if not 0 < pyr_scale < 1 or levels < 0 or winsize < 1 or iterations < 1 or poly_n < 1:
        raise ValueError(f"bad Farneback parameters: pyr_scale={pyr_scale}, levels={levels}, winsize={winsize}, "
                         f"iterations={iterations}, poly_n={poly_n}")
    single = prev.ndim == 2
    if single:
        prev, next = prev[None], next[None]
    frames = torch.stack([prev, next], dim=1).reshape(-1, 1, *prev.shape[-2:]).to(torch.float32)
    pairs = frames.shape[0] // 2
    height, width = frames.shape[-2:]
    gaussian = bool(flags & OPTFLOW_FARNEBACK_GAUSSIAN)
    flow = None
    for k in range(pyramid_levels(height, width, pyr_scale, levels), -1, -1):
        scale = pyr_scale ** k
        size = (round(height * scale), round(width * scale))
        if flow is None:
            flow = frames.new_zeros(pairs, 2, *size)
        else:
            flow = F.interpolate(flow, size=size, mode="bilinear", align_corners=False) / pyr_scale
        expansions = poly_expansion(_level_image(frames, scale, size), poly_n, poly_sigma)
        expansions = expansions.reshape(pairs, 2, 5, *size)
        r0, r1 = expansions[:, 0], expansions[:, 1].double()
        edges = _edge_weights(*size, frames.device, frames.dtype)
        equations = _equations(r0, r1, flow, edges)
        for i in range(iterations):
            flow = _solve(_window_average(equations, winsize, gaussian))
            if i < iterations - 1:
                equations = _equations(r0, r1, flow, edges)
    flow = flow.permute(0, 2, 3, 1).contiguous()
    return flow[0] if single else flow


def torch_clip_flow(gray: np.ndarray, device: str | torch.device = "cpu", **params) -> np.ndarray:
    """Flow of each consecutive pair of gray uint8 frames (T+1, H, W), all in one batch on `device` ->
    (T, H, W, 3) float32 numpy: magnitude, dx, dy (mer_live.flow.clip_flow's layout). `params`: farneback_flow's."""
    stack = torch.from_numpy(np.ascontiguousarray(gray)).to(device)
    uv = farneback_flow(stack[:-1], stack[1:], **params)
    magnitude = torch.sqrt(uv[..., 0] * uv[..., 0] + uv[..., 1] * uv[..., 1])
    return torch.cat([magnitude[..., None], uv], dim=-1).cpu().numpy()
