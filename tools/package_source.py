"""Modules of the Python package's source, loaded without installing the package.

``crates/python/python/mobilenet_unet/`` holds pure-Python modules the tools share with the
package (the Keras converter, the safetensors writer). The package's ``__init__`` imports its
Rust half, which the tools' environment (tools/requirements.txt) does not build; so this loads
the modules under a private package name whose ``__init__`` is never run. Relative imports
between them (``from .st_write import ...``) still resolve.
"""

import importlib
import os
import sys
import types

SOURCE_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           "..", "crates", "python", "python", "mobilenet_unet"))
_PACKAGE = "_mobilenet_unet_source"


def load(name):
    """The module ``mobilenet_unet.<name>`` read from the checkout's source."""
    if _PACKAGE not in sys.modules:
        pkg = types.ModuleType(_PACKAGE)
        pkg.__path__ = [SOURCE_DIR]
        sys.modules[_PACKAGE] = pkg
    return importlib.import_module("%s.%s" % (_PACKAGE, name))
