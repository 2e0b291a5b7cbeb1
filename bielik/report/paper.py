"""The report's own facts: architecture, recipes and headline tables, as the report gives them.

These numbers are the paper's, typed from it (see shared PAPER.md for each source); the book's own
numbers are never here, they are computed by the chapters and recorded in runs/<scale>/metrics/.
"""
from __future__ import annotations

REPORT = {
    "title": "Bielik 11B v2 Technical Report",
    "authors": "SpeakLeash / ACK Cyfronet AGH",
    "year": 2025,
    "arxiv": "2505.02410",
}

# Mistral-7B-v0.2, the base model (Report §2, Table 1).
MISTRAL_7B_V02 = {
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 32000,
    "rope_theta": 1e6,
    "max_position_embeddings": 32768,
    "tie_word_embeddings": False,
}

# Depth up-scaling (Report §2): n = 32 layers, m = 7 removed at the junction, s = 2(n - m) = 50.
UPSCALING = {"n": 32, "m": 7, "s": 50, "vocab_size": 32128, "reported_parameters": 11.17e9}

# Training recipes (Report §3, §4.3, §4.4.1).
RECIPES = {
    "continued pretraining": {
        "tokens": "198B (90B Polish + English + instructions), 2 epochs",
        "optimizer": "AdamW (0.9, 0.95), weight decay 0.1",
        "learning rate": "cosine 2e-5 -> 9e-6, warm-up 50 iterations",
        "batch x context": "128 x 32,768",
        "iterations": "97,250",
        "precision": "bf16, clipping 1.0",
    },
    "SFT (WICEL + ALR)": {
        "tokens": ">20M instructions, >10B tokens, 3 epochs",
        "optimizer": "AdamW (0.9, 0.95), weight decay 0.05",
        "learning rate": "cosine 7e-6 -> 6e-7, warm-up 50 iterations",
        "batch x context": "128 x 8,192",
        "iterations": "not stated",
        "precision": "bf16, clipping 1.0",
    },
    "DPO-Positive": {
        "tokens": "72,000 preference pairs, beta 0.05, lambda 2.5",
        "optimizer": "AdamW (0.9, 0.95), no weight decay",
        "learning rate": "constant 7e-7, warm-up 50 iterations",
        "batch x context": "64 (local 1)",
        "iterations": "3,800",
        "precision": "bf16, clipping 1.0",
    },
}
PRETRAINING_ITERATIONS, PRETRAINING_BATCH, PRETRAINING_CONTEXT = 97_250, 128, 32_768

# The pretraining corpus (Report §3.1): SpeakLeash documents selected, and the Polish tokens they gave.
CORPUS = {"selected_documents": "41M", "polish_tokens": "90B"}

# Open PL LLM Leaderboard, 5-shot, baseline-normalised average (Report Tables 7, 8).
OPEN_PL_5SHOT = [
    {"model": "Bielik-11B-v2 (base)", "kind": "base", "score": 58.14},
    {"model": "Bielik-11B-v2.0-Instruct", "kind": "instruct", "score": 64.98},
    {"model": "Bielik-11B-v2.1-Instruct", "kind": "instruct", "score": 65.45},
    {"model": "Bielik-11B-v2.2-Instruct", "kind": "instruct", "score": 65.57},
    {"model": "Bielik-11B-v2.3-Instruct", "kind": "instruct", "score": 65.71},
    {"model": "Qwen2.5-72B", "kind": "base (other)", "score": 67.38},
    {"model": "Qwen1.5-32B", "kind": "base (other)", "score": 58.71},
    {"model": "SOLAR-10.7B-v1.0", "kind": "base (other)", "score": 47.54},
    {"model": "Mistral-7B-v0.2", "kind": "base (other)", "score": 38.81},
    {"model": "Bielik-7B-v0.1", "kind": "base (other)", "score": 34.34},
    {"model": "Mistral-Large-Instruct-2411", "kind": "instruct (other)", "score": 69.84},
    {"model": "Llama-3-70B-Instruct", "kind": "instruct (other)", "score": 64.45},
    {"model": "Bielik-7B-Instruct-v0.1", "kind": "instruct (other)", "score": 44.70},
]

# Headline benchmarks per release (Report Tables 7-28; None = not listed).
VERSIONS = ["base", "v2.0", "v2.1", "v2.2", "v2.3"]
HEADLINES = {
    "Open PL LLM, 5-shot (T7/8)": [58.14, 64.98, 65.45, 65.57, 65.71],
    "Polish MT-Bench (T10)": [None, 7.56, 8.00, 8.12, 8.56],
    "Polish EQ-Bench (T11)": [None, 68.24, 60.07, 69.05, 70.86],
    "CPTUB 0-5 (T12)": [None, 3.26, 3.61, 3.46, 3.63],
    "LLMzSzŁ (T15)": [55.14, 55.61, 57.52, 57.36, 57.40],
    "Open LLM v1, English (T18/19)": [65.87, 68.04, 69.82, 69.86, 69.82],
}
TRAINING_STAGES = {"base": "pretraining", "v2.0": "SFT", "v2.1": "SFT + DPO-P",
                   "v2.2": "SFT + DPO-P", "v2.3": "SFT + DPO-P + merge"}

# Quality classifier (Report §3.1.2, Tables 3-4) and topic classifier (§3.1.3).
QUALITY_CLASSIFIER = {"features": 150, "train_docs": 20_000, "validation_docs": 500, "test_docs": 1_500,
                      "test_accuracy": 0.94, "test_macro_f1": 0.85, "validation_accuracy": 0.94,
                      "validation_macro_f1": 0.79, "keep_if_p_high_above": 0.90,
                      "shap_top_features_named": 25}  # Table 5 names its top 25 features by SHAP, defining none
# Report Table 2: the models compared on the validation split, best weighted F1 first.
QUALITY_TABLE2 = [
    {"model": "XGB_HighN_LowLR_d7_n1000_lr002", "macro F1": 0.7895, "weighted F1": 0.9286, "accuracy": 0.938},
    {"model": "XGB_AggressiveSubsample_d8_n300_lr007", "macro F1": 0.7960, "weighted F1": 0.9280, "accuracy": 0.934},
    {"model": "LightGBM", "macro F1": 0.7982, "weighted F1": 0.9277, "accuracy": 0.934},
    {"model": "XGB_RegL1L2_d8_n250_lr008_a02_l05", "macro F1": 0.7938, "weighted F1": 0.9260, "accuracy": 0.934},
    {"model": "CatBoost / HistGradientBoosting", "macro F1": 0.7880, "weighted F1": 0.9248, "accuracy": 0.932},
    {"model": "XGBoost n400, depth 3, lr 0.25", "macro F1": 0.7911, "weighted F1": 0.9245, "accuracy": 0.930},
    {"model": "XGBoost (defaults)", "macro F1": 0.7636, "weighted F1": 0.9173, "accuracy": 0.926},
]
TOPIC_CLASSIFIER = {"categories": 120, "accuracy": 0.9444, "macro_f1": 0.9436, "labelled_docs": 35_944,
                    "vectorizer_terms": 10_000, "other_below": 0.2}

# Quantization retention, Bielik-11B-v2.3-Instruct, Open PL LLM 5-shot average (Report Table 9).
RETENTION = [
    {"variant": "bf16", "average": 65.71},
    {"variant": "Q8_0", "average": 65.76},
    {"variant": "Q6_K", "average": 65.26},
    {"variant": "Q4_K_M", "average": 64.76},
    {"variant": "Q4_K_M (imatrix)", "average": 64.71},
    {"variant": "IQ3_XXS (imatrix)", "average": 64.89},
    {"variant": "IQ2_XXS (imatrix)", "average": 61.34},
    {"variant": "IQ1_M (imatrix)", "average": 52.09},
]

# Bielik 7B v0.1 (arXiv 2410.18565, Table 8): GGUF perplexity, KL divergence from FP16 and same-top-token share,
# without -> with imatrix; FP16 perplexity 3.9393. None where the table gives no figure.
V01_FP16_PERPLEXITY = 3.9393
V01_GGUF = [
    {"variant": "Q8_0", "gib": 7.17, "ppl": (3.9422, 3.9422), "kld": (0.0010, 0.0010), "same_top": (98.69, 98.69)},
    {"variant": "Q6_K", "gib": 5.53, "ppl": (3.9450, 3.9406), "kld": None, "same_top": None},
    {"variant": "Q5_K_M", "gib": 4.78, "ppl": (3.9520, 3.9473), "kld": None, "same_top": None},
    {"variant": "Q4_K_M", "gib": 4.07, "ppl": (3.9876, 3.9727), "kld": (0.0286, 0.0220), "same_top": (93.66, 94.47)},
    {"variant": "Q3_K_M", "gib": 3.28, "ppl": (4.0915, 4.0458), "kld": None, "same_top": None},
    {"variant": "Q2_K", "gib": 2.53, "ppl": (4.7045, 4.3522), "kld": (0.2852, 0.1939), "same_top": (81.11, 84.56)},
]
