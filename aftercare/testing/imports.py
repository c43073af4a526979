"""What a module of the project imports, read from its source with `ast` (for the tests of the layers)."""

import ast
from pathlib import Path

import aftercare

ROOT = Path(aftercare.__file__).parent  # the `aftercare` package


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module the file at `path` (inside the package `root`) imports, at any depth of the file; relative
    imports resolved; `from a import b` gives both `a` and `a.b` (b may be a module)."""
    package = ".".join(path.relative_to(root.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            out.add(base)
            out |= {f"{base}.{alias.name}" for alias in node.names}
    return out


def project_apps(root: Path = ROOT) -> list[str]:
    return sorted(p.name for p in root.iterdir() if (p / "apps.py").exists())


def imports_of_other_apps(app: str, *, tests: bool = False, root: Path = ROOT) -> list[tuple[str, str]]:
    """`(file, module)` for each import by `app` of another app of the project (its tests left out unless `tests`)."""
    apps = project_apps(root)
    out = []
    for path in sorted((root / app).rglob("*.py")):
        if not tests and "tests" in path.relative_to(root / app).parts:
            continue
        for module in sorted(imported_modules(path, root)):
            parts = module.split(".")
            if len(parts) > 1 and parts[0] == root.name and parts[1] in apps and parts[1] != app:
                out.append((str(path.relative_to(root.parent)), module))
    return out
