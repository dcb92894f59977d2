"""The type stubs (.pyi) name the same parameters as the code, so editors complete what runs."""

import ast
import inspect
from pathlib import Path

import mobilenet_unet
from mobilenet_unet import _native


def _stub_functions(module):
    """{qualified name: [parameter names]} of the functions and methods in a module's .pyi."""
    here = Path(module.__file__)
    stub = "__init__.pyi" if here.name == "__init__.py" else module.__name__.rsplit(".", 1)[1] + ".pyi"
    tree = ast.parse((here.parent / stub).read_text())
    out = {}

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, prefix + node.name + ".")
            elif isinstance(node, ast.FunctionDef):
                if any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
                    continue
                args = [a.arg for a in node.args.args]
                out[prefix + node.name] = [a for a in args if a not in ("self", "cls")]
    visit(tree.body, "")
    return out


def _runtime(module, qualname):
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return [p for p in inspect.signature(obj).parameters if p not in ("self", "cls")]


def test_stubs_match_the_code():
    for module in (mobilenet_unet, _native):
        stubs = _stub_functions(module)
        assert len(stubs) >= 5
        for name, params in stubs.items():
            assert _runtime(module, name) == params, "%s.%s" % (module.__name__, name)
    # and every public method of Model is in the stub
    stubbed = _stub_functions(mobilenet_unet)
    public = [n for n, v in vars(mobilenet_unet.Model).items()
              if not n.startswith("_") and callable(getattr(v, "__func__", v))]
    in_stub = [n for n in stubbed if n.startswith("Model.") and not n.startswith("Model._")]
    assert sorted("Model." + n for n in public) == sorted(in_stub)
