"""PyTorch eager reference of one wearlang masked-pretraining step.

The same model as `wearlang_encoders::MaskedAutoencoder` (patch Transformer
encoder with a MAP pooling head that the MAE step does not use, MAE decoder),
the same AIM token selection, masked MSE, gradient clipping and AdamW as
`crates/train/src/pretrain.rs`. Called by `cargo xtask bench pretrain`;
prints one JSON object.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = {"tiny": (64, 2, 4), "small": (128, 4, 4), "base": (256, 8, 8)}


def sincos_1d(pos, dim):
    half = dim // 2
    i = torch.arange(half, dtype=torch.float64)
    freq = pos[:, None].double() / (10000.0 ** (i / half))[None, :]
    return torch.cat([freq.sin(), freq.cos()], 1)


def sincos_2d(rows, cols, dim):
    half = dim // 2
    r = sincos_1d(torch.arange(rows), half)
    c = sincos_1d(torch.arange(cols), half)
    out = torch.cat([r[:, None, :].expand(rows, cols, half), c[None, :, :].expand(rows, cols, half)], 2)
    return out.reshape(rows * cols, dim).float()


def lin(i, o):
    m = nn.Linear(i, o)
    nn.init.normal_(m.weight, std=0.02)
    nn.init.zeros_(m.bias)
    return m


class Attention(nn.Module):
    def __init__(self, dim, heads, cross=False):
        super().__init__()
        self.heads, self.dim, self.cross = heads, dim, cross
        if cross:
            self.q, self.kv = lin(dim, dim), lin(dim, 2 * dim)
        else:
            self.qkv = lin(dim, 3 * dim)
        self.proj = lin(dim, dim)

    def forward(self, x, key_mask=None):
        b, l, _ = x.shape
        hd = self.dim // self.heads
        t = self.qkv(x).reshape(b, l, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = t[0], t[1], t[2]
        mask = None
        if key_mask is not None:
            mask = key_mask[:, None, None, :]
            mask = mask | ~mask.any(-1, keepdim=True)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(b, l, self.dim))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = lin(dim, hidden), lin(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, ratio):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(round(dim * ratio)))

    def forward(self, x, key_mask=None):
        x = x + self.attn(self.ln1(x), key_mask)
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    def __init__(self, depth, dim, heads, ratio):
        super().__init__()
        self.blocks = nn.ModuleList([Block(dim, heads, ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x, key_mask=None):
        for b in self.blocks:
            x = b(x, key_mask)
        return self.norm(x)


class MapPool(nn.Module):
    """Present for the parameter count; the MAE step does not call it."""

    def __init__(self, dim, heads):
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.attn = Attention(dim, heads, cross=True)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)


class Mae(nn.Module):
    def __init__(self, steps, channels, pt, pc, dim, depth, heads, ddim, ddepth, dheads):
        super().__init__()
        self.pt, self.pc = pt, pc
        self.nt, self.nc = steps // pt, channels // pc
        n, p = self.nt * self.nc, pt * pc
        self.patch_embed = lin(p, dim)
        self.register_buffer("pos", sincos_2d(self.nt, self.nc, dim)[None])
        self.encoder = Transformer(depth, dim, heads, 4.0)
        self.pool = MapPool(dim, heads)
        self.dec_embed = lin(dim, ddim)
        self.mask_token = nn.Parameter(torch.randn(ddim) * 0.02)
        self.register_buffer("dec_pos", sincos_2d(self.nt, self.nc, ddim)[None])
        self.decoder = Transformer(ddepth, ddim, dheads, 4.0)
        self.head = lin(ddim, p)

    def patchify(self, x):
        b = x.shape[0]
        return x.reshape(b, self.nt, self.pt, self.nc, self.pc).permute(0, 1, 3, 2, 4).reshape(
            b, self.nt * self.nc, self.pt * self.pc)

    def forward(self, x, ratio, keep):
        patches = self.patchify(x)
        b, n, p = patches.shape
        inherited = patches.isnan().float().mean(-1) >= 1.0
        # Random masking of exactly round(ratio * observed) observed tokens.
        n_obs = (~inherited).sum(1)
        n_mask = torch.round(ratio * n_obs.double()).long()
        score = torch.rand(b, n).masked_fill(inherited, 2.0)
        rank = score.argsort(1).argsort(1)
        artificial = rank < n_mask[:, None]
        total = inherited | artificial
        # AIM selection.
        prio = total.float() * 100.0 + torch.rand(b, n)
        order = prio.argsort(1)
        keep_idx = order[:, :keep]
        restore_idx = order.argsort(1)
        attn_mask = ~total.gather(1, keep_idx)
        target_mask = artificial & ~inherited
        h = self.patch_embed(torch.nan_to_num(patches, 0.0)) + self.pos
        kept = h.gather(1, keep_idx[..., None].expand(b, keep, h.shape[-1]))
        enc = self.encoder(kept, attn_mask)
        d = self.dec_embed(enc)
        dd = d.shape[-1]
        fill = self.mask_token.reshape(1, 1, dd).expand(b, n, dd)
        shuffled = torch.cat([d, fill[:, : n - keep]], 1)
        ordered = shuffled.gather(1, restore_idx[..., None].expand(b, n, dd))
        full = torch.where(total[..., None], fill, ordered) + self.dec_pos
        pred = self.head(self.decoder(full))
        valid = target_mask[..., None] & ~patches.isnan()
        w = valid.float()
        return (((pred - torch.nan_to_num(patches, 0.0)) ** 2) * w).sum() / w.sum().clamp_min(1.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--preset", default="small")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dim, depth, heads = PRESETS[args.preset]
    steps, channels, pt, pc, ratio = 100, 6, 10, 1, 0.8
    model = Mae(steps, channels, pt, pc, dim, depth, heads, 64, 2, 4)
    n = (steps // pt) * (channels // pc)
    keep = max(1, n - int(round(ratio * n)))
    no_decay = ("pos_embed", "mask_token", "embeddings", "logit_scale", "logit_bias", "query")
    decay, other = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and not any(s in name for s in no_decay) else other).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": other, "weight_decay": 0.0}],
        lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    x = torch.randn(args.batch, steps, channels)

    def step():
        loss = model(x, ratio, keep)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    dt = time.perf_counter() - t
    print(json.dumps({
        "impl": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": sum(p.numel() for p in model.parameters()),
        "batch": args.batch,
        "steps": args.steps,
        "steps_per_s": args.steps / dt,
        "samples_per_s": args.steps * args.batch / dt,
    }))


if __name__ == "__main__":
    main()
