"""PyTorch eager reference of one wearlang sensor-language training step.

The same models and step as `crates/train/examples/bench_train_step.rs`:
loss, backward, global-norm clipping (1.0), AdamW with the same decay
groups. Modes:

- clip_cached: NLS conv encoder (32/64/96 channels, kernels 24/16/8, "same"
  padding, ReLU, dropout 0.1, max pooling over observed steps) + projection
  heads + CLIP; text embeddings looked up from a cache;
- clip_minilm: the same with frozen MiniLM (BERT, 6 layers, 384 wide) run on
  every batch (token ids of the Rust run's mean length, no tokenisation
  cost here);
- coca: small patch Transformer (MAP pooling) + heads + CLIP + a 2-block
  causal decoder with cross-attention and a tied output layer over the
  corpus vocabulary, α = β = 1.

Called by `cargo xtask bench train`; prints one JSON object.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from pretrain_reference import Attention, Mlp, Transformer, lin, sincos_2d  # noqa: E402


class Conv(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.kernels = [24, 16, 8]
        widths = [32, 64, 96]
        ins = [channels] + widths[:-1]
        self.convs = nn.ModuleList([nn.Conv1d(i, o, k) for i, o, k in zip(ins, widths, self.kernels)])
        self.dim = 96

    def forward(self, x):
        m = x.isnan()
        h = torch.where(m, torch.zeros_like(x), x).transpose(1, 2)
        for conv, k in zip(self.convs, self.kernels):
            h = F.dropout(F.relu(conv(F.pad(h, ((k - 1) // 2, k // 2)))), 0.1, self.training)
        tokens = h.transpose(1, 2)
        valid = ~m.all(2)
        pooled = tokens.masked_fill(~valid[..., None], float("-inf")).amax(1).nan_to_num(0.0)
        return tokens, valid, pooled * valid.any(1, keepdim=True)


class CrossAttention(Attention):
    def __init__(self, dim, heads):
        super().__init__(dim, heads, cross=True)

    def forward(self, x, ctx, key_mask=None):
        b, lq, _ = x.shape
        lk = ctx.shape[1]
        hd = self.dim // self.heads
        q = self.q(x).reshape(b, lq, self.heads, hd).transpose(1, 2)
        t = self.kv(ctx).reshape(b, lk, 2, self.heads, hd).permute(2, 0, 3, 1, 4)
        mask = None
        if key_mask is not None:
            mask = key_mask[:, None, None, :]
            mask = mask | ~mask.any(-1, keepdim=True)
        y = F.scaled_dot_product_attention(q, t[0], t[1], attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(b, lq, self.dim))


class MapPool(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.attn = CrossAttention(dim, heads)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, tokens, valid):
        y = self.attn(self.query.expand(tokens.shape[0], 1, -1), tokens, valid)
        y = y + self.mlp(self.norm(y))
        return y[:, 0] * valid.any(1, keepdim=True)


class Patch(nn.Module):
    def __init__(self, steps, channels, pt=10, dim=128, depth=4, heads=4):
        super().__init__()
        self.pt, self.nt, self.nc = pt, steps // pt, channels
        self.patch_embed = lin(pt, dim)
        self.register_buffer("pos", sincos_2d(self.nt, self.nc, dim)[None])
        self.blocks = Transformer(depth, dim, heads, 4.0)
        self.pool = MapPool(dim, heads)
        self.dim = dim

    def forward(self, x):
        b = x.shape[0]
        p = x.reshape(b, self.nt, self.pt, self.nc).permute(0, 1, 3, 2).reshape(b, self.nt * self.nc, self.pt)
        valid = ~(p.isnan().all(-1))
        h = self.patch_embed(p.nan_to_num(0.0)) + self.pos
        tokens = self.blocks(h, valid)
        return tokens, valid, self.pool(tokens, valid)


class Head(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.fc = nn.ModuleList([lin(i, i), lin(i, o)])

    def forward(self, x):
        return self.fc[1](F.gelu(self.fc[0](x)))


class DecBlock(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ln_cross = nn.LayerNorm(dim, eps=1e-6)
        self.cross = CrossAttention(dim, heads)
        self.ln2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x, ctx, ctx_mask):
        b, l, d = x.shape
        hd = d // self.attn.heads
        t = self.attn.qkv(self.ln1(x)).reshape(b, l, 3, self.attn.heads, hd).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(t[0], t[1], t[2], is_causal=True)
        x = x + self.attn.proj(y.transpose(1, 2).reshape(b, l, d))
        x = x + self.cross(self.ln_cross(x), ctx, ctx_mask)
        return x + self.mlp(self.ln2(x))


class Decoder(nn.Module):
    def __init__(self, vocab, dim=128, depth=2, heads=4, max_len=32):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, dim)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        self.pos_embedding = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        self.blocks = nn.ModuleList([DecBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, ids, ctx, ctx_mask):
        h = self.token_embedding(ids) + self.pos_embedding[: ids.shape[1]]
        for b in self.blocks:
            h = b(h, ctx, ctx_mask)
        return self.norm(h) @ self.token_embedding.weight.t()


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__" or v["dtype"] != "F32":  # position_ids (I64) are not used
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"]).copy())
    return out


class Bert(nn.Module):
    """all-MiniLM-L6-v2 (eval-mode forward, mean pooling, L2 norm)."""

    def __init__(self, w):
        super().__init__()
        self.w = w
        self.layers = 6
        self.heads = 12

    def forward(self, ids, mask):
        w = self.w
        b, l = ids.shape
        pos = torch.arange(l)[None]
        h = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][pos] \
            + w["embeddings.token_type_embeddings.weight"][torch.zeros_like(ids)]
        h = F.layer_norm(h, (384,), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], 1e-12)
        am = mask.bool()[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            def L(x, n):
                return F.linear(x, w[p + n + ".weight"], w[p + n + ".bias"])
            sp = lambda t: t.view(b, l, self.heads, 32).transpose(1, 2)  # noqa: E731
            q, k, v = sp(L(h, "attention.self.query")), sp(L(h, "attention.self.key")), sp(L(h, "attention.self.value"))
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=am).transpose(1, 2).reshape(b, l, 384)
            h = F.layer_norm(L(a, "attention.output.dense") + h, (384,), w[p + "attention.output.LayerNorm.weight"],
                             w[p + "attention.output.LayerNorm.bias"], 1e-12)
            f = L(F.gelu(L(h, "intermediate.dense")), "output.dense")
            h = F.layer_norm(f + h, (384,), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], 1e-12)
        m = mask[..., None].float()
        e = (h * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return e / e.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def clip_loss(s, t, logit_scale):
    s = F.normalize(s, dim=-1)
    t = F.normalize(t, dim=-1)
    logits = logit_scale.clamp(max=math.log(100.0)).exp() * s @ t.t()
    y = torch.arange(s.shape[0])
    return (F.cross_entropy(logits, y) + F.cross_entropy(logits.t(), y)) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="clip_cached")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--minilm", required=True)
    ap.add_argument("--text-len", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=143)
    ap.add_argument("--caption-len", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B = args.batch
    coca = args.mode == "coca"
    model = nn.Module()
    model.sensor = Patch(100, 6) if coca else Conv(6)
    model.sensor_proj = Head(model.sensor.dim, 128)
    model.text_proj = Head(384, 128)
    model.objective = nn.Module()
    model.objective.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))
    if coca:
        model.decoder = Decoder(args.vocab)
    bert = None
    if args.mode == "clip_minilm":
        bert = Bert(load_safetensors(os.path.join(args.minilm, "model.safetensors")))
    cache = F.normalize(torch.randn(231, 384), dim=-1)
    no_decay = ("pos_embed", "mask_token", "embeddings", "logit_scale", "logit_bias", "query")
    decay, other = [], []
    for name, p in model.named_parameters():
        (decay if p.dim() >= 2 and not any(s in name for s in no_decay) else other).append(p)
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": other, "weight_decay": 0.0}],
        lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    params = sum(p.numel() for p in model.parameters())
    x = torch.randn(B, 100, 6)
    model.train()

    def step(i):
        g = torch.Generator().manual_seed(i)
        if bert is not None:
            ids = torch.randint(1000, 30000, (B, args.text_len), generator=g)
            ids[:, 0], ids[:, -1] = 101, 102
            with torch.no_grad():
                temb = bert(ids, torch.ones_like(ids))
        else:
            temb = cache[torch.randint(0, cache.shape[0], (B,), generator=g)]
        tokens, valid, pooled = model.sensor(x)
        loss = clip_loss(model.sensor_proj(pooled), model.text_proj(temb), model.objective.logit_scale)
        if coca:
            cap = torch.randint(4, args.vocab, (B, args.caption_len), generator=g)
            logits = model.decoder(cap[:, :-1], tokens, valid)
            loss = loss + F.cross_entropy(logits.reshape(-1, args.vocab), cap[:, 1:].reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        with torch.no_grad():
            model.objective.logit_scale.clamp_(max=math.log(100.0))
        return loss.item()

    for i in range(args.warmup):
        step(i)
    t = time.perf_counter()
    for i in range(args.steps):
        step(args.warmup + i)
    dt = time.perf_counter() - t
    print(json.dumps({"impl": "pytorch", "mode": args.mode, "threads": torch.get_num_threads(), "params": params,
                      "batch": B, "steps": args.steps, "steps_per_s": args.steps / dt,
                      "samples_per_s": args.steps * B / dt}))


if __name__ == "__main__":
    main()
