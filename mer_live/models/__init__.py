"""The model zoo: models named as in the original code, in four sizes, all taking (B, T, C, H, W) and returning logits.

See mer_live.models.registry for the names (`list_models(pattern)`) and the variant table (params,
intended use).
ONNX: every family exports with torch.onnx.export, both dynamo=False (legacy TorchScript, deprecated in
torch >= 2.9, the faster of the two to export) and dynamo=True, opset 18, with a dynamic batch axis; frames and image size are
fixed at export (swin's window clamp and TimeSformer's embeddings depend on them). onnxruntime CPU matches
PyTorch to ~1e-6.
"""
from mer_live.models.pretrained import PretrainedError, load_pretrained
from mer_live.models.registry import (
    FAMILIES,
    MODEL_NAMES,
    VARIANTS,
    check_feature_compatible,
    check_input_size,
    compatible_features,
    create_model,
    list_models,
    model_in_channels,
    parse_model_name,
    suggest_model,
)

__all__ = [
    "FAMILIES",
    "MODEL_NAMES",
    "VARIANTS",
    "PretrainedError",
    "check_feature_compatible",
    "check_input_size",
    "compatible_features",
    "create_model",
    "list_models",
    "load_pretrained",
    "model_in_channels",
    "parse_model_name",
    "suggest_model",
]
