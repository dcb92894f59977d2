"""A deterministic safetensors writer (same tensors and metadata -> same bytes).

It lives in the Python package, as ``mobilenet_unet.st_write`` (the format is described there);
this re-exports it for the tools.
"""

from package_source import load

_st_write = load("st_write")
save_safetensors = _st_write.save_safetensors
safetensors_bytes = _st_write.safetensors_bytes
