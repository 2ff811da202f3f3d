"""Robot facts live only in ``hover/robots/``: no module elsewhere names a body or joint of a robot, or a
robot itself (the default robot is ``hover.robots.DEFAULT_ROBOT``), in its code.

Checked on every module's AST outside ``hover/robots/``: string constants (docstrings excluded) equal to
a robot, body, joint or site name, glob patterns matching one (``"body:*_ankle_link"``), and the
literal parts of f-strings that spell the end of a name (``f"{side}_ankle_link"``). Also: the sim2sim
physics step is defined once (``hover.robots.SIM2SIM_PHYSICS_DT``) and not written again as a number.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_layers import ROOT, module_files  # noqa: E402

from hover.robots import ROBOTS, SIM2SIM_PHYSICS_DT, get_robot  # noqa: E402


def _names() -> set[str]:
    names: set[str] = set(ROBOTS)
    for r in map(get_robot, ROBOTS):
        names |= set(r.tracked_body_names) | set(r.joint_names) | {s.name for s in r.sites}
    return names


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
        # attribute docstrings (a string statement after a dataclass field) are docs too
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    out.add(id(stmt.value))
    return out


def _hits(tree: ast.AST, names: set[str]) -> list[tuple[int, str]]:
    docs = _docstrings(tree)
    in_fstring = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            for k, v in enumerate(parts):
                after_value = k > 0 and isinstance(parts[k - 1], ast.FormattedValue)
                if (
                    isinstance(v, ast.Constant)
                    and isinstance(v.value, str)
                    and after_value
                    and len(v.value) >= 4
                ):
                    text = re.split(r"[\s'\"]", v.value)[0]
                    if len(text) >= 4 and any(n.endswith(text) and n != text for n in names):
                        hits.append((node.lineno, f'f"{{...}}{text}"'))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if id(node) in in_fstring:
                continue
            text = node.value
            for token in {text, text.split(":", 1)[-1]}:
                literal = len(token.replace("*", "").replace("?", "")) >= 3
                if token in names or (
                    "*" in token and literal and any(fnmatch.fnmatch(n, token) for n in names)
                ):
                    hits.append((node.lineno, repr(text)))
                    break
    return hits


#: modules whose strings only look like robot names
NOT_ROBOT_NAMES = {
    "hover.retarget.human_skeletons": "human joint names of BVH/SMPL conventions (pelvis, left_knee, ...)",
}


def test_no_robot_names_outside_hover_robots():
    names = _names()
    bad = []
    for module, path in module_files().items():
        if module == "hover.robots" or module.startswith("hover.robots.") or module in NOT_ROBOT_NAMES:
            continue
        for line, text in _hits(ast.parse(path.read_text()), names):
            bad.append(f"{path.relative_to(ROOT)}:{line}: {text}")
    assert not bad, "robot facts outside hover/robots/ (read them from the RobotSpec):\n" + "\n".join(bad)


def _physics_dt_defaults(tree: ast.AST) -> list[tuple[int, object]]:
    """(line, value) of every number given to something named ``physics_dt``: a field or variable, a
    keyword argument, a parameter default."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            pairs = [(node.target.id, node.value)]
        elif isinstance(node, ast.Assign):
            pairs = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.keyword) and node.arg:
            pairs = [(node.arg, node.value)]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + list(node.args.defaults)
            pairs = list(zip([a.arg for a in args], defaults + list(node.args.kw_defaults), strict=True))
        else:
            continue
        for name, value in pairs:
            if "physics_dt" in name and isinstance(value, ast.Constant) and isinstance(value.value, float):
                out.append((value.lineno, value.value))
    return out


def test_the_sim2sim_physics_step_is_written_once():
    bad = []
    for module, path in module_files().items():
        if module == "hover.robots" or module.startswith("hover.robots."):
            continue
        bad += [
            f"{path.relative_to(ROOT)}:{line}: {value}"
            for line, value in _physics_dt_defaults(ast.parse(path.read_text()))
        ]
    assert not bad, (
        f"physics steps outside hover/robots/ (sim2sim and sim-robot: SIM2SIM_PHYSICS_DT = {SIM2SIM_PHYSICS_DT}): {bad}"
    )
