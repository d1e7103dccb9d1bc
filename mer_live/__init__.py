"""mer_live: the core library of mer-live (datasets, face crop, interpolation, flow, features, models,
ONNX Runtime wrapper and the streaming engine). The applications `training`, `export` and `gui` import it;
it imports none of them."""

__version__ = "0.1.0"
