"""The layers of docs/architecture.md hold for every import of every module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hybridsim"

# layer → the hybridsim layers it may import ("" is the package itself: __version__)
BELOW_IO = {"config", "geometry", "parallel", "agents", "fields", "mechanics", "coupling", "errors"}
ALLOWED = {
    "errors": set(),
    "progress": set(),
    "config": {"errors"},
    "geometry": {"config"},
    "parallel": {"config", "errors"},
    "agents": {"config", "geometry", "errors"},
    "fields": {"parallel", "geometry", "config", "errors"},
    "mechanics": {"parallel", "geometry", "config", "errors"},
    "coupling": {"parallel", "fields", "agents", "config", "errors"},
    "io": BELOW_IO,
    "analysis": {"config", "geometry", "parallel", "agents", "fields", "io", "errors"},
    "footprint": BELOW_IO | {"io"},
    "simulation": BELOW_IO | {"io", "progress"},
    "commands": BELOW_IO | {"io", "analysis", "simulation", "footprint", "progress"},
    "__main__": {"commands"},
}
# third-party packages a layer must never import
FORBIDDEN = {
    "config": {"numpy", "numba", "scipy", "mpi4py", "petsc4py", "h5py"},
    "geometry": {"mpi4py", "petsc4py", "h5py", "numba"},
    "agents": {"mpi4py", "petsc4py", "h5py"},
    "parallel": {"h5py"},
    "fields": {"h5py"},
    "mechanics": {"h5py"},
    "coupling": {"h5py"},
}
MAX_LINES = 450


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        yield path, parts


def _layer(parts) -> str:
    """The layer of a module path ``("hybridsim", "config", "run")`` → ``"config"``."""
    return "" if len(parts) == 1 or parts[1] == "__init__" else parts[1]


def _imports(source: str, parts):
    """``(hybridsim layers, third-party top-level names)`` imported anywhere in the
    module ``parts`` whose text is ``source``."""
    package = parts[:-1]  # what "." means in the module (a package's __init__ is inside it)
    layers, external = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")
                (layers.add(_layer(top)) if top[0] == "hybridsim" else external.add(top[0]))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                top = node.module.split(".")
                (layers.add(_layer(top)) if top[0] == "hybridsim" else external.add(top[0]))
                continue
            base = package[: len(package) - (node.level - 1)]
            target = base + tuple(node.module.split(".")) if node.module else base
            if len(target) == 1:  # "from .. import x": x may be a layer or a name of the package
                layers |= {name.name for name in node.names if (PACKAGE / name.name).exists()
                           or (PACKAGE / f"{name.name}.py").exists()} or {""}
            else:
                layers.add(_layer(target))
    return layers, external


def violations(source: str, parts) -> list[str]:
    """What the module ``parts`` (text ``source``) imports against the layer table."""
    layer = _layer(parts)
    if layer == "":
        return []  # the package's face imports nothing of its own
    layers, external = _imports(source, parts)
    allowed = ALLOWED[layer] | {layer, ""}
    name = ".".join(parts)
    out = [f"{name} ({layer}) imports the layer {x}" for x in sorted(layers - allowed)]
    out += [f"{name} ({layer}) imports {x}" for x in sorted(FORBIDDEN.get(layer, set()) & external)]
    return out


def test_every_import_follows_the_layer_table():
    found = [v for path, parts in _modules() for v in violations(path.read_text(encoding="utf-8"), parts)]
    assert not found, "\n".join(found)


def test_an_upward_import_is_caught():
    source = "from ..parallel.grid import Grid\nimport mpi4py\nfrom ..config import Network\n"
    found = violations(source, ("hybridsim", "agents", "example"))
    assert found == ["hybridsim.agents.example (agents) imports the layer parallel",
                     "hybridsim.agents.example (agents) imports mpi4py"]
    assert violations("from .. import __version__\nfrom ..errors import InputError\n",
                      ("hybridsim", "io", "example")) == []


def test_no_module_is_longer_than_the_limit():
    long = [f"{path.relative_to(PACKAGE.parent)}: {n} lines" for path, _ in _modules()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, f"modules over {MAX_LINES} lines (split them): " + ", ".join(long)


def test_reading_a_config_loads_only_the_standard_library():
    code = ("import sys, hybridsim.config as c; c.load_config(sys.argv[1]); "
            "print(sorted(m for m in ('numpy', 'numba', 'mpi4py', 'petsc4py', 'h5py', 'scipy') if m in sys.modules))")
    example = Path(__file__).resolve().parents[1] / "examples" / "cytokine.toml"
    result = subprocess.run([sys.executable, "-c", code, str(example)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
