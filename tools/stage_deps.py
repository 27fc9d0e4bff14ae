"""The colorbench code each DVC stage runs, and whether dvc.yaml's deps cover it.

A stage's code is the import closure of its entry point (`colorbench CMD`: cli.py and
commands/CMD.py, or a script `python X.py`) inside src/colorbench: every `import`, top-level or inside a function (lazy
imports run too), every module named by a string literal (plugin lists, `module:function`
load checks), and the packages' `__init__.py` files. Three tables are the exception. The model
registry imports generator networks by arch name (`GENERATOR_MODULES`), so a stage gets the
networks named by `arch` in its own params, in params.yaml and in every profile; a stage
that only loads a checkpoint (colorize) gets its network through that checkpoint: the
training stage depends on the network's code, and `dvc repro` re-runs colorize when the
retrained checkpoint differs. The registry imports a checkpoint kind's module
(`KIND_MODULES`, e.g. SCGAN's networks) when that kind is loaded: a stage gets it when it runs
other code of that module's package (SCGAN's trainers, its colorize stage). The method
registry imports the module declaring a method when that method is looked up: a stage
naming a method in its command gets that module's code; a stage naming none (the report)
gets every method's declaration (`NAMES`, `METHODS`), never their networks. (To find the
one module to import, the registry also reads every method file's `NAMES`/`PATTERNS`
literals as text; those are not deps: another method's names cannot change what a stage
computes, only make the lookup fail, e.g. two methods sharing a name.)

    python tools/stage_deps.py            # each stage's closure, as dvc.yaml deps
    python tools/stage_deps.py --check    # exit 1 when a stage's deps miss code it runs
    python tools/stage_deps.py --write    # rewrite dvc.yaml's src/colorbench deps

--write gives a `foreach` stage the code any of its items runs, except the generator
networks: those differ per item and stay in dvc.yaml as `${item.net}`. --check verifies
every item (code an item runs only through a sibling's network is not flagged as unused).
"""

from __future__ import annotations

import ast
import functools
import keyword
import re
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

import yaml

from colorbench.methods.registry import literal_names

PKG = "colorbench"
REGISTRY = "colorbench.models.registry"
METHODS = "colorbench.methods"
METHOD_REGISTRY = "colorbench.methods.registry"
_MODULE_STRING = re.compile(r"^colorbench(\.\w+)+(:\w+)?$")


def module_file(src: Path, name: str) -> Path | None:
    base = src.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_name(src: Path, path: Path) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _imports(path: Path, name: str) -> tuple[str, ...]:
    tree = ast.parse(path.read_text())
    return tuple(_imported_names(tree, name, path.name == "__init__.py"))


def _imported_names(tree: ast.AST, name: str, is_pkg: bool) -> Iterable[str]:
    package = name if is_pkg else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: climb from this module's package
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)  # submodules
        elif isinstance(node, ast.Constant) and _MODULE_STRING.match(str(node.value)):
            yield node.value.split(":")[0]


def _registry_table(src: Path, table: str) -> dict[str, str]:
    path = module_file(src, REGISTRY)
    if path is None:
        return {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == table for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def generator_modules(src: Path) -> dict[str, str]:
    """The registry's arch -> module table, read without importing torch."""
    return _registry_table(src, "GENERATOR_MODULES")


def kind_modules(src: Path) -> dict[str, str]:
    """The registry's checkpoint kind -> registering module table (KIND_MODULES)."""
    return _registry_table(src, "KIND_MODULES")


def kinds_run(src: Path, files: set[Path]) -> set[str]:
    """The kind modules a stage running `files` may import: those whose package (other
    than its bare __init__ and its method declaration) it already runs code of."""
    out = set()
    for module in set(kind_modules(src).values()):
        package = module_file(src, module).parent
        own = {package / "__init__.py", package / "method.py"}
        if any(f.parent == package and f not in own for f in files):
            out.add(module)
    return out


def method_modules(src: Path) -> dict[str, str]:
    """Method name -> the module declaring it (`NAMES` in methods/X.py or methods/X/method.py), read
    without importing anything: colorbench.methods.registry finds them at run time."""
    out: dict[str, str] = {}
    base = module_file(src, METHODS).parent
    for path in sorted([*base.glob("*.py"), *base.glob("*/method.py")]):
        out.update(dict.fromkeys(literal_names(path, "NAMES"), module_name(src, path)))
    return out


def declarations(src: Path) -> set[Path]:
    """What the method registry runs of every method when it looks one up: each declaring
    module and the colorbench modules it imports at module level (not inside functions)."""
    todo = [f for m in set(method_modules(src).values()) for f, _ in _with_parents(src, m)]
    seen: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        name = module_name(src, path)
        tree = ast.parse(path.read_text())
        top = ast.Module(body=[n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)])
        for imported in _imported_names(top, name, path.name == "__init__.py"):
            if imported.split(".")[0] == PKG:
                todo += [f for f, _ in _with_parents(src, imported) if f not in seen]
    return seen


def _with_parents(src: Path, name: str) -> list[tuple[Path, str]]:
    """Importing a.b.c runs a/__init__ and a/b/__init__ first."""
    parts = name.split(".")
    names = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return [(f, n) for n in names if (f := module_file(src, n)) is not None]


def closure(src: Path, entries: Iterable[Path], extra: Iterable[str] = ()) -> set[Path]:
    """colorbench files run by `entries` (scripts or modules) plus the modules `extra`."""
    dispatched = set(generator_modules(src).values()) | set(kind_modules(src).values())
    todo = [(p, module_name(src, p) if p.is_relative_to(src) else "__main__") for p in entries]
    todo += [found for m in extra for found in _with_parents(src, m)]
    seen: set[Path] = set()
    while todo:
        path, name = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for imported in _imports(path, name):
            if imported.split(".")[0] != PKG or imported in dispatched:
                continue
            todo += [found for found in _with_parents(src, imported) if found[0] not in seen]
    return {p for p in seen if p.is_relative_to(src)}


def entry_points(root: Path, cmd: str) -> list[Path]:
    """The scripts/modules a stage command starts: a script X.py, or the CLI and the module
    of its command (`colorbench evaluate-protocols` -> commands/evaluate_protocols.py; a
    group's subcommand, `colorbench train colorizer` -> commands/train/__init__.py and
    commands/train/colorizer.py, with `_` after a Python keyword: global_.py). cli.py and a
    group find their commands at run time, so the closure holds the one the stage runs."""
    words = shlex.split(cmd, comments=True)
    scripts = [root / w for w in words if w.endswith(".py") and (root / w).is_file()]
    if scripts:
        return scripts
    if PKG not in words or words.index(PKG) + 1 >= len(words):
        return []
    src, at = root / "src", words.index(PKG) + 1
    found = [module_file(src, f"{PKG}.cli")]
    name = f"{PKG}.commands"
    for word in words[at : at + 2]:  # the command, then a group's subcommand
        part = word.replace("-", "_")
        name += f".{part}_" if keyword.iskeyword(part) else f".{part}"
        command = module_file(src, name)
        if command is None:
            break
        found.append(command)
        if command.name != "__init__.py":  # not a group
            break
    return found


def _archs(tree: object) -> Iterable[str]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            if key == "arch" and isinstance(value, str):
                yield value
            yield from _archs(value)


def _lookup(params: dict, key: str) -> object:
    for part in key.split("."):
        if not isinstance(params, dict) or part not in params:
            return None
        params = params[part]
    return {key.rsplit(".", 1)[-1]: params}


def stage_closures(root: Path) -> dict[str, tuple[set[Path], list[str]]]:
    """stage name -> (colorbench files it runs, its declared deps), for every dvc.yaml stage."""
    from dvc.repo import Repo

    src = root / "src"
    profiles = [root / "params.yaml", *sorted((root / "profiles").glob("*.yaml"))]
    all_params = [yaml.safe_load(p.read_text()) or {} for p in profiles if p.is_file()]
    table = generator_modules(src)
    methods, declared = method_modules(src), declarations(src)
    with Repo(str(root), config={"core": {"no_scm": True}}) as repo:
        stages = list(repo.index.stages)
    result = {}
    for s in stages:
        deps = [str(d.def_path) for d in s.deps if not hasattr(d, "params")]
        archs = {
            arch
            for d in s.deps
            if hasattr(d, "params")
            for key in d.params
            for params in all_params
            for arch in _archs(_lookup(params, key))
        }
        cmd = " ".join(s.cmd) if isinstance(s.cmd, list) else s.cmd
        files, extra, every_method = closure(src, entry_points(root, cmd)), set(), False
        if module_file(src, METHOD_REGISTRY) in files:
            # The method a colorize stage names runs whole (and no other method's code);
            # a stage naming none (report, study) reads every method's declaration.
            extra = {methods[w] for w in shlex.split(cmd) if w in methods}
            every_method = not extra
            files = closure(src, entry_points(root, cmd), extra)
        if module_file(src, REGISTRY) in files:  # the networks its registry will build
            extra |= {table[a] for a in archs if a in table} | kinds_run(src, files)
            files = closure(src, entry_points(root, cmd), extra)
        if every_method:
            files |= declared
        result[s.name] = (files, deps)
    return result


def _py_files(path: Path) -> set[Path]:
    return set(path.rglob("*.py")) if path.is_dir() else {path}


def problems(
    root: Path, files: set[Path], deps: list[str], siblings: set[Path] = frozenset()
) -> list[str]:
    """Code the stage runs that no dep covers; deps on code that neither it nor a sibling
    `foreach` item runs (stale or too broad)."""
    code_deps = [root / d for d in deps if (root / d).is_relative_to(root / "src")]
    out = [
        f"runs {f.relative_to(root)} but does not depend on it"
        for f in sorted(files)
        if not any(f == d or f.is_relative_to(d) for d in code_deps)
    ]
    for d in code_deps:
        unused = _py_files(d) - files - siblings
        if unused:
            name = sorted(unused)[0].relative_to(root)
            out.append(f"depends on {d.relative_to(root)} but never runs {name}")
    return out


def check(root: Path, closures: dict[str, tuple[set[Path], list[str]]]) -> dict[str, list[str]]:
    """stage name -> its problems, for the stages that have any."""
    group = groups(closures)
    found = {
        name: problems(root, files, deps, group[name.split("@")[0]])
        for name, (files, deps) in closures.items()
    }
    return {name: p for name, p in found.items() if p}


def groups(closures: dict[str, tuple[set[Path], list[str]]]) -> dict[str, set[Path]]:
    """dvc.yaml stage name (before `@item`) -> the code any of its items runs."""
    out: dict[str, set[Path]] = {}
    for name, (files, _) in closures.items():
        out.setdefault(name.split("@")[0], set()).update(files)
    return out


def as_deps(root: Path, files: set[Path]) -> list[str]:
    """The shortest dep list: a package folder where the stage runs all of it."""
    chosen = set(files)
    for pkg in sorted({f.parent for f in files}, key=lambda p: len(p.parts)):
        if pkg.name != PKG and _py_files(pkg) <= files:
            chosen = {f for f in chosen if not f.is_relative_to(pkg)} | {pkg}
    chosen = {c for c in chosen if not any(c != o and c.is_relative_to(o) for o in chosen)}
    return sorted(str(c.relative_to(root)) for c in chosen)


_STAGE = re.compile(r"^  ([A-Za-z_][\w-]*):")
_DEPS = re.compile(r"^(\s+)deps:\s*$")


def write_deps(root: Path, closures: dict[str, tuple[set[Path], list[str]]]) -> None:
    """Replace each stage's literal src/colorbench deps in dvc.yaml by its closure."""
    src = root / "src"
    nets = {module_file(src, m) for m in generator_modules(src).values()}
    common = {
        top: files - nets if any(n.startswith(f"{top}@") for n in closures) else files
        for top, files in groups(closures).items()
    }
    # A matrix over an empty list (colorize_method before any method is listed) has no
    # stages yet: its code is what its command runs, read from dvc.yaml itself.
    raw = yaml.safe_load((root / "dvc.yaml").read_text()).get("stages", {})
    for stage, spec in raw.items():
        if stage not in common and isinstance(spec, dict) and "cmd" in spec:
            files = closure(src, entry_points(root, spec["cmd"]))
            if module_file(src, METHOD_REGISTRY) in files:
                files |= declarations(src)
            common[stage] = files
    lines = (root / "dvc.yaml").read_text().splitlines(keepends=True)
    out: list[str] = []
    stage, in_stages, i = None, False, 0
    while i < len(lines):
        line = lines[i]
        if line[:1].strip() and not line.startswith("#"):
            in_stages = line.startswith("stages:")
        if in_stages and (m := _STAGE.match(line)):
            stage = m.group(1)
        out.append(line)
        i += 1
        deps = _DEPS.match(line)
        if not deps or stage not in common:
            continue
        indent, block = deps.group(1), []
        while i < len(lines) and (
            not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > len(indent)
        ):
            block.append(lines[i])
            i += 1
        while block and not block[-1].strip():  # a blank line after the list is not in it
            block.pop()
            i -= 1
        kept = [b for b in block if "- src/colorbench" not in b or "${" in b]
        item = next((b[: b.index("-")] for b in block if b.lstrip().startswith("-")), indent + "  ")
        out += kept + [f"{item}- {d}\n" for d in as_deps(root, common[stage])]
    (root / "dvc.yaml").write_text("".join(out))


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    bad = 0
    closures = stage_closures(root)
    if "--write" in argv:
        write_deps(root, closures)
        closures = stage_closures(root)
    if "--check" in argv:
        for name, found in check(root, closures).items():
            print("".join(f"{name}: {problem}\n" for problem in found), end="")
            bad += len(found)
    elif "--write" not in argv:
        for name, (files, _) in closures.items():
            print(f"{name}:\n" + "".join(f"  - {d}\n" for d in as_deps(root, files)))
    if bad:
        print("update dvc.yaml: python tools/stage_deps.py --write")
    return int(bad > 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
