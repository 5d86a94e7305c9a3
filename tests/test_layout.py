"""checker/'s three parts keep their rules: the core imports neither the lessons nor grading, the
lessons never import grading, only grading imports nbgrader or jupyter_client, and no modules of
checker import each other in a circle."""

import ast
import subprocess
import sys
from pathlib import Path

import checker

PACKAGE = Path(checker.__file__).parent
GRADER_ONLY = ("nbgrader", "jupyter_client", "nbclient")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved, at any depth (lazy imports too)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import makemore`
    return found


MODULES = {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def part(module: str) -> str:
    return {"lessons": "lessons", "grading": "grading"}.get(module.split(".")[1] if "." in module else "", "core")


def test_the_three_parts_exist_and_the_core_alone_is_at_the_top():
    assert {"checker.lessons", "checker.grading"} <= set(MODULES)
    top_level = sorted(m for m in MODULES if m.count(".") == 1 and part(m) == "core")
    for lesson in ("makemore", "chain_rule", "capstone", "scalar_engine", "digits_mlp", "training"):
        assert f"checker.{lesson}" not in top_level and f"checker.lessons.{lesson}" in MODULES
    for machinery in ("run", "verify", "warm_kernels", "kernel_zygote", "nbgrader_speedups", "feedback"):
        assert f"checker.{machinery}" not in top_level and f"checker.grading.{machinery}" in MODULES


def test_imports_only_go_down_from_grading_to_lessons_to_the_core():
    allowed = {"core": {"core"}, "lessons": {"core", "lessons"}, "grading": {"core", "lessons", "grading"}}
    wrong = [f"{module} imports {target}"
             for module, targets in MODULES.items() for target in targets
             if target.startswith("checker.") and target in MODULES and part(target) not in allowed[part(module)]]
    assert not wrong


def test_only_grading_imports_nbgrader_or_jupyter_client():
    wrong = [f"{module} imports {target}" for module, targets in MODULES.items() if part(module) != "grading"
             for target in targets if target.split(".")[0] in GRADER_ONLY]
    assert not wrong


def test_no_modules_of_checker_import_each_other_in_a_circle():
    graph = {m: {t for t in targets if t in MODULES and t != m} for m, targets in MODULES.items()}
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}  # a package's own __init__
    done, on_path = set(), []

    def visit(module):
        if module in on_path:
            raise AssertionError("import circle: " + " -> ".join(on_path[on_path.index(module):] + [module]))
        if module in done:
            return
        on_path.append(module)
        for target in sorted(graph[module]):
            visit(target)
        on_path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_a_learners_kernel_loads_no_grading_machinery():
    """What the lessons import, in a fresh interpreter: none of the grader's packages come with it."""
    probe = ("import sys, checker, checker.lessons.makemore, checker.lessons.training, checker.lessons.capstone, "
             "checker.lessons.scalar_engine, checker.lessons.digits_mlp, checker.lessons.chain_rule\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {GRADER_ONLY!r} or m.startswith('checker.grading')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
