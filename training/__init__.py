"""mer-train: LOSO training of the original code's models (cli, run orchestration, one fold, data cache,
augmentation of cached frames and flow, report, TensorBoard/visualisation, torchrun sharing of folds)."""
