"""mer-export: checkpoints to verified, self-describing ONNX files (see export.onnx_export, export.verify)."""
