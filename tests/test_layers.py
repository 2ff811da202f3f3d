"""One-way layers, checked on the source: every import of every module (imports inside functions and
under ``TYPE_CHECKING`` included) must follow the table below, and no module may import itself back
through others (no import circles).

Layers, bottom to top (``MAY_IMPORT``: the layers each one may import; a layer always imports itself):

==========  ======================================================  =================================
layer       modules (installed names; envs/, retarget/, deploy/      may import
            are the top-level folders installed as hover.*)
==========  ======================================================  =================================
core        hover (the package), hover.robots, rotations,            core
            kinematics, io, config_codec, video, motion, commands,
            student, policy_metadata, checkpoints
envs        hover.envs (backends, the tracking task)                 core
retarget    hover.retarget (human to robot)                          core
deploy      hover.deploy (what runs on the robot's computer)         core
app         hover.training, evaluation, benchmarks, demo, cli,       core, envs, retarget, deploy
            __main__
==========  ======================================================  =================================

Also checked here: only ``hover/cli/`` (one module per command, named after it) defines command-line
entry points (a ``main`` or ``*_main(argv, ...)`` function, an ``if __name__ == "__main__"`` block), and
no two modules in different layers share a file name unless they are the same kind of thing (``SAME_KIND``).

``python tests/test_layers.py`` prints the import graph: modules, edges, edges between the top-level
folders, imports inside functions, circles and the imports against the layers.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"hover": "hover", "envs": "hover.envs", "retarget": "hover.retarget", "deploy": "hover.deploy"}

LAYERS: dict[str, tuple[str, ...]] = {
    "core": ("hover", "hover.robots", "hover.rotations", "hover.kinematics", "hover.io", "hover.config_codec",
             "hover.video", "hover.motion", "hover.commands", "hover.student", "hover.policy_metadata",
             "hover.checkpoints"),
    "envs": ("hover.envs",),
    "retarget": ("hover.retarget",),
    "deploy": ("hover.deploy",),
    "app": ("hover.training", "hover.evaluation", "hover.benchmarks", "hover.demo", "hover.cli", "hover.__main__"),
}  # fmt: skip
MAY_IMPORT: dict[str, set[str]] = {
    "core": {"core"},
    "envs": {"core", "envs"},
    "retarget": {"core", "retarget"},
    "deploy": {"core", "deploy"},
    "app": {"core", "envs", "retarget", "deploy", "app"},
}
CLI_PACKAGE = "hover.cli"


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported project module
    line: int
    in_function: bool


def module_files() -> dict[str, Path]:
    """Installed module name -> source file, for every module of the four folders."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if folder == "hover" and parts[0] in ("envs", "retarget", "deploy", "assets"):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def layer_of(module: str) -> str | None:
    """The layer of a module: its longest matching prefix in LAYERS (``hover`` alone matches only itself)."""
    best, best_len = None, -1
    for layer, prefixes in LAYERS.items():
        for p in prefixes:
            hit = module == p or (p != "hover" and module.startswith(p + "."))
            if hit and len(p) > best_len:
                best, best_len = layer, len(p)
    return best


def _function_nodes(tree: ast.AST) -> set[int]:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inside |= {id(n) for n in ast.walk(node) if n is not node}
    return inside


def imports(modules: dict[str, Path]) -> list[Import]:
    """Every import of a project module by a project module, resolved to the longest module it names."""
    out = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        inside = _function_nodes(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    out.append(Import(name, target, node.lineno, id(node) in inside))
    return out


def against_layers(found: list[Import]) -> list[str]:
    bad = []
    for imp in found:
        src, dst = layer_of(imp.source), layer_of(imp.target)
        if src is None or dst is None or dst not in MAY_IMPORT[src]:
            where = " (inside a function)" if imp.in_function else ""
            bad.append(f"{imp.source} ({src}) imports {imp.target} ({dst}), line {imp.line}{where}")
    return bad


def circles(found: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for imp in found:
        graph.setdefault(imp.source, set()).add(imp.target)
        graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def folder_of(module: str) -> str:
    for folder, package in FOLDERS.items():
        if package != "hover" and (module == package or module.startswith(package + ".")):
            return folder
    return "hover"


# ------------------------------------------------------------------------------------------ tests


def test_every_module_has_a_layer():
    unplaced = [m for m in module_files() if layer_of(m) is None]
    assert not unplaced, f"add these modules to LAYERS in tests/test_layers.py: {unplaced}"


def test_imports_follow_the_layers():
    bad = against_layers(imports(module_files()))
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_no_import_circles():
    found = circles(imports(module_files()))
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def _entry_points(tree: ast.Module) -> list[str]:
    hits = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and (node.name == "main" or node.name.endswith("_main")):
            args = [a.arg for a in node.args.args]
            if args[:1] == ["argv"]:
                hits.append(f"def {node.name}(argv, ...)")
        if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test):
            hits.append('if __name__ == "__main__"')
    return hits


def test_only_the_cli_defines_entry_points():
    bad = []
    for name, path in module_files().items():
        if name == CLI_PACKAGE or name.startswith(CLI_PACKAGE + ".") or name == "hover.__main__":
            continue
        if path.name == "cli.py":
            bad.append(f"{name}: a cli.py outside hover/cli/")
        bad += [f"{name}: {hit}" for hit in _entry_points(ast.parse(path.read_text()))]
    assert not bad, "command-line entry points belong in hover/cli/<command>.py:\n" + "\n".join(bad)


def test_every_command_lives_in_its_own_cli_module():
    from hover.cli import COMMANDS

    for words, target, _ in COMMANDS:
        module, func = target.split(":")
        assert (module, func) == (f"{CLI_PACKAGE}.{'_'.join(words).replace('-', '_')}", "main"), words


#: file names used in several layers for the same kind of thing
SAME_KIND = {
    "base.py": "the interface of a family of implementations (simulator backends; operator input sources)",
    "recipes.py": "named presets of configs (the env's task; the training run built on it)",
}


def test_file_names_are_unique_across_layers():
    """``commands/modes.py`` in the core and ``evaluation/modes.py`` in the application read as the same
    thing. CLI modules are named after their command and are exempt; so are SAME_KIND."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for name, path in module_files().items():
        if (
            name.startswith(CLI_PACKAGE)
            or path.name in ("__init__.py", "__main__.py")
            or path.name in SAME_KIND
        ):
            continue
        seen.setdefault(path.name, set()).add((str(layer_of(name)), str(path.relative_to(ROOT))))
    clashes = {k: sorted(v) for k, v in seen.items() if len({layer for layer, _ in v}) > 1}
    assert not clashes, f"one file name in several layers: {clashes}"


def graph_report() -> str:
    """The import graph in numbers (for the issue's before/after comparison)."""
    modules = module_files()
    found = imports(modules)
    edges = {(i.source, i.target) for i in found}
    cross = Counter((folder_of(a), folder_of(b)) for a, b in edges if folder_of(a) != folder_of(b))
    lines = [
        f"modules: {len(modules)}",
        f"import edges (module -> module): {len(edges)}",
        f"edges between top-level folders: {sum(cross.values())} "
        + ", ".join(f"{a}->{b} {n}" for (a, b), n in sorted(cross.items())),
        f"import statements of project modules inside functions: {len({(i.source, i.line) for i in found if i.in_function})}",
        f"import circles: {len(circles(found))}",
        f"imports against the layers: {len(against_layers(found))}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(graph_report())
