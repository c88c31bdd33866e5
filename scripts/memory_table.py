"""Predicted peak GPU memory (GiB) of one training step of the paper's models, per method and mode, at
the official per-device batch sizes and 512 tokens (``rwku_core.memory``), with and without gradient
checkpointing; bf16 weights with float32 master weights for the trainable ones.

    .venv/bin/python scripts/memory_table.py
"""
from rwku_core.memory import OFFICIAL_BATCH, SEQ_LEN, n_params, peak_bytes, shape

# config.json of the models on the Hub (meta-llama/Meta-Llama-3-8B-Instruct, microsoft/Phi-3-mini-4k-instruct)
MODELS = {
    "Llama-3-8B-Instruct": {"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096,
                            "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
                            "num_key_value_heads": 8, "tie_word_embeddings": False},
    "Phi-3-mini-4k-instruct": {"model_type": "phi3", "vocab_size": 32064, "hidden_size": 3072,
                               "intermediate_size": 8192, "num_hidden_layers": 32, "num_attention_heads": 32,
                               "num_key_value_heads": 32, "tie_word_embeddings": False},
}
METHODS = {"ga": "GA", "ga_star": "GA*", "npo": "NPO", "dpo": "DPO", "rt": "RT"}
MODES = ("full", "lora", "layers:0-3")
GPU_GIB = 80          # A100 / H100 80 GB


def rows():
    for model, cfg in MODELS.items():
        for method, name in METHODS.items():
            for mode in MODES:
                batch = OFFICIAL_BATCH[(method, "lora" if mode == "lora" else "full")]
                gib = [peak_bytes(cfg, method, mode, batch, SEQ_LEN, "bfloat16", ckpt)["total"] / 2**30
                       for ckpt in (False, True)]
                yield model, name, mode, batch, gib


def main():
    for model, cfg in MODELS.items():
        print(f"{model}: {n_params(shape(cfg)) / 1e9:.2f}B parameters")
    print()
    print("| model | method | mode | sequences/device | GiB | GiB, checkpointing | fits 80 GB |")
    print("|---|---|---|---|---|---|---|")
    for model, name, mode, batch, (plain, ckpt) in rows():
        fits = "yes" if plain <= GPU_GIB else ("with checkpointing" if ckpt <= GPU_GIB else "no")
        print(f"| {model} | {name} | {mode} | {batch} | {plain:.1f} | {ckpt:.1f} | {fits} |")


if __name__ == "__main__":
    main()
