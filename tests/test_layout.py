"""The package's shape keeps its promises: import rules between layers, dvc.yaml's code deps
equal to what each stage really imports and its params equal to what each stage reads, thin
stages, short modules, no sys.path hacks, and a README code map that matches the tree."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import grimp
import pytest
import yaml
from importlinter import cli as importlinter_cli

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 300  # "~300 lines is a sign to split"
MAX_STAGE_LINES = 60  # a stage parses its flags, reads its params and calls the library


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("ecg", "stages")


def imported_files(graph: grimp.ImportGraph, module: str) -> set[str]:
    """Project files that running `module` executes: its transitive imports (function-local
    ones too) and the `__init__` of every package on the way."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(graph.find_modules_directly_imported_by(name))
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))
    return {os.path.relpath(importlib.util.find_spec(m).origin, ROOT) for m in seen}


def test_import_rules_hold():
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code = importlinter_cli.lint_imports(config_filename="pyproject.toml", no_cache=True)
    finally:
        os.chdir(cwd)
    assert code == 0, "lint-imports found a broken contract (run `lint-imports` to see it)"


def test_each_stage_declares_exactly_the_code_it_imports(graph):
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert stages
    for name, stage in stages.items():
        match = re.fullmatch(r"python -m (stages\.\w+)( .*)?", stage["cmd"])
        assert match, f"{name}: cmd must run a stage module: {stage['cmd']}"
        declared = {d for d in stage["deps"] if d.endswith(".py")}
        imported = imported_files(graph, match.group(1))
        assert declared == imported, (
            f"{name}: dvc.yaml deps differ from the import graph; missing "
            f"{sorted(imported - declared)}, not imported {sorted(declared - imported)}"
        )
        for dep in stage["deps"]:
            if dep.startswith(("ecg/", "stages/")):
                assert (ROOT / dep).is_file(), f"{name}: {dep} does not exist"


def test_the_checksum_lists_are_deps_of_the_stage_that_reads_them():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    readers = [n for n, s in stages.items() if "ecg/data/download.py" in s["deps"]]
    assert readers == ["download"]
    assert {"ecg/data/mitdb_sha256.txt", "ecg/data/nstdb_sha256.txt"} <= set(
        stages["download"]["deps"]
    )


def python_files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


def test_no_sys_path_hacks():
    offenders = [
        str(p.relative_to(ROOT))
        for p in python_files("ecg", "stages", "benchmarks", "tests")
        if "sys.path.insert" in p.read_text() and p.name != "test_layout.py"
    ]
    assert offenders == []


def test_modules_are_short_and_stages_thin():
    long = {
        str(p.relative_to(ROOT)): n
        for p in python_files("ecg")
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"modules over {MAX_MODULE_LINES} lines: {long}"
    fat = {
        str(p.relative_to(ROOT)): n
        for p in python_files("stages")
        if (n := len(p.read_text().splitlines())) > MAX_STAGE_LINES
    }
    assert fat == {}, f"stages over {MAX_STAGE_LINES} lines: {fat}"


def test_every_subpackage_documents_itself_and_is_in_the_readme_code_map():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Code map", 1)
    assert len(section) == 2, "README.md has no '## Code map' section"
    code_map = section[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(ecg/\w+/|stages/|benchmarks/|tests/)`", code_map))
    packages = {f"ecg/{p.parent.name}/" for p in (ROOT / "ecg").glob("*/__init__.py")}
    assert packages <= listed, f"missing from the code map: {sorted(packages - listed)}"
    stale = {p for p in listed if p.startswith("ecg/") and p not in packages}
    assert not stale, f"in the code map but not in the tree: {sorted(stale)}"
    for init in (ROOT / "ecg").glob("*/__init__.py"):
        doc = init.read_text().strip()
        assert doc.startswith('"""') and len(doc) > 120, f"{init}: needs a docstring paragraph"


def test_each_stage_declares_exactly_the_params_it_reads():
    """Each stage's `load_config` reads params.yaml through `ParamsFile`, which records every
    group and key asked for: that record must equal the stage's `params` in dvc.yaml, or a
    changed key would rerun too much or, worse, too little."""
    from ecg.core.params_file import ParamsFile

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        module = importlib.import_module(stage["cmd"].split()[2])
        params = ParamsFile(ROOT / "params.yaml")
        if hasattr(module, "load_config"):
            module.load_config(params)
        assert params.read == set(stage.get("params", [])), (
            f"{name}: reads {sorted(params.read)}, dvc.yaml declares "
            f"{sorted(stage.get('params', []))}"
        )


def test_every_params_key_is_read_by_some_stage():
    from ecg.core.params_file import ParamsFile

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    params = ParamsFile(ROOT / "params.yaml")
    for stage in stages.values():
        module = importlib.import_module(stage["cmd"].split()[2])
        if hasattr(module, "load_config"):
            module.load_config(params)
    leaves = set()

    def walk(node, prefix):
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                walk(value, dotted + ".")
            else:
                leaves.add(dotted)

    walk(params.raw, "")
    unread = {k for k in leaves if not any(k == r or k.startswith(r + ".") for r in params.read)}
    assert unread == set(), f"params.yaml keys no stage reads: {sorted(unread)}"


def flow_list(items: list[str], indent: int = 6, width: int = 96) -> list[str]:
    """`[a, b, ...]` wrapped to `width`, continuation lines indented."""
    lines, line = [], "    deps: ["
    for i, item in enumerate(items):
        piece = item + ("]" if i == len(items) - 1 else ",")
        if len(line) + 1 + len(piece) > width and not line.endswith("["):
            lines.append(line)
            line = " " * indent + piece
        else:
            line += ("" if line.endswith("[") else " ") + piece
    lines.append(line if items else "    deps: []")
    return lines


def sync_stage_deps() -> list[str]:
    """Rewrite each dvc.yaml stage's `deps:` to its data deps followed by its import closure;
    returns the stages changed. `python -m tests.test_layout`."""
    graph = grimp.build_graph("ecg", "stages")
    lines = (ROOT / "dvc.yaml").read_text().splitlines()
    stages = yaml.safe_load("\n".join(lines))["stages"]
    changed, out, i, current = [], [], 0, None
    while i < len(lines):
        line = lines[i]
        if m := re.fullmatch(r"  (\w+):", line):
            current = m.group(1)
        if line.startswith("    deps: [") and current in stages:
            while not lines[i].rstrip().endswith("]"):
                i += 1
            i += 1
            old = stages[current]["deps"]
            module = stages[current]["cmd"].split()[2]
            data = [d for d in old if not d.endswith(".py")]
            new = data + sorted(imported_files(graph, module))
            if new != old:
                changed.append(current)
            out.extend(flow_list(new))
            continue
        out.append(line)
        i += 1
    (ROOT / "dvc.yaml").write_text("\n".join(out) + "\n")
    return changed


if __name__ == "__main__":
    print("dvc.yaml deps updated:", ", ".join(sync_stage_deps()) or "none")
