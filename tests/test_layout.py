"""The package's layout: subpackages by the report's parts, no import cycles, every module listed in the README."""
import ast
import graphlib
import re

from conftest import ROOT

PACKAGE = ROOT / "bielik"


def module_names() -> dict[str, object]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if "tasks" in path.relative_to(PACKAGE).parts:  # lm-eval loads these by path, not as modules
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, at the top or inside a function (a lazy import is still an
    edge: a cycle through one fails the first time that function runs in a fresh process)."""
    mods = module_names()
    graph = {}
    for name, path in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bielik"):
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in mods else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("bielik")}
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as e:
        raise AssertionError(f"import cycle: {' -> '.join(e.args[1])}") from None
    assert len(order) == len(graph)


def test_no_module_is_left_at_the_top_level():
    top = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    assert not top, f"modules belong in a subpackage of the report's parts: {top}"


def test_the_readme_lists_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout"):]
    listed = set(re.findall(r"^\s*([a-z_]+)\.py\b", layout, re.M))
    listed_pkgs = set(re.findall(r"^  ([a-z_]+)/ ", layout, re.M))
    missing = []
    for name in module_names():
        parts = name.split(".")
        if len(parts) == 2 and parts[1] in listed_pkgs:  # a subpackage's own __init__
            continue
        if len(parts) == 3 and parts[2] not in listed:
            missing.append(name)
    assert not missing, f"README's layout section does not list: {missing}"
    assert {n.split(".")[1] for n in module_names() if n.count(".") >= 1} <= listed_pkgs | {"__main__"}
