"""Reference for `cargo xtask bench llm`: SmolLM2-135M-Instruct from the same
GGUF file in the reference Python library (transformers, which dequantises
the GGUF to float32 on load) on PyTorch eager, CPU.

Same work as crates/llm/examples/bench_llm.rs: the prompt ids it wrote
(--ids), one forward over them with the cache (prefill), then greedy decoding
of --new-tokens tokens one cached step at a time, end-of-turn ignored; the
prefill computes logits for the last position only (`logits_to_keep=1`, as
`generate` does and as the Rust side does). A
manual loop over `model(...)` with `past_key_values` is used rather than
`model.generate`, which adds logits-processor overhead: the loop is the
stronger reference. One warm-up run, then --repeats timed runs; medians,
and every timed run's figure beside them (`*_runs`).
Peak RSS is the process's ru_maxrss, which includes importing torch and
transformers.

Prints one JSON object with the same fields as the Rust side.
"""

import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import torch
import transformers
from transformers import AutoModelForCausalLM


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, help="path of the .gguf file")
    ap.add_argument("--ids", required=True, help="JSON list of prompt ids")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    gguf = Path(a.model)
    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    model.eval()
    load_seconds = time.perf_counter() - t0
    prompt = json.loads(Path(a.ids).read_text())
    ids = torch.tensor([prompt], dtype=torch.long)

    prefill, decode, generated = [], [], []
    with torch.inference_mode():
        for run in range(a.repeats + 1):
            t0 = time.perf_counter()
            # Logits of the last position only, as generate() does.
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
            past = out.past_key_values
            nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
            t1 = time.perf_counter()
            toks = [int(nxt)]
            for _ in range(a.new_tokens - 1):
                out = model(input_ids=nxt, past_key_values=past, use_cache=True)
                past = out.past_key_values
                nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
                toks.append(int(nxt))
            t2 = time.perf_counter()
            if run > 0:
                prefill.append(len(prompt) / (t1 - t0))
                decode.append((a.new_tokens - 1) / (t2 - t1))
            generated = toks
    print(
        json.dumps(
            {
                "implementation": f"transformers {transformers.__version__}, torch {torch.__version__} (eager)",
                "threads": a.threads,
                "prompt_tokens": len(prompt),
                "new_tokens": a.new_tokens,
                "repeats": a.repeats,
                "load_seconds": load_seconds,
                "prefill_tokens_per_s": statistics.median(prefill),
                "decode_tokens_per_s": statistics.median(decode),
                "prefill_tokens_per_s_runs": prefill,
                "decode_tokens_per_s_runs": decode,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                "generated_ids": generated,
            }
        )
    )


if __name__ == "__main__":
    main()
