"""The layers of app/, read from the imports themselves: core is the ground floor, and packages
depend on each other one way only. And one way to write what every page form needs."""
import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app"
TEMPLATES = APP.parent / "templates"
# Core may import itself and the configuration, nothing else of app/: every other package stands on it.
CORE_MAY_IMPORT = {"core", "config"}


def module_name(path: Path, root: Path = APP) -> str:
    parts = ("app", *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path = APP) -> set[str]:
    """Every `app...` name the module imports, in any form: `import app.x`, `from app.x import y`,
    `from app import x` (as app.x), relative imports resolved."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names |= {f"{base}.{alias.name}" if base == "app" else base for alias in node.names}
    return {name for name in names if name == "app" or name.startswith("app.")}


def app_package(name: str) -> str:
    """The package of app/ a name belongs to: app.posts.services -> posts; app.create_app -> create_app."""
    return name.split(".")[1] if "." in name else name


def package_imports() -> dict[str, set[str]]:
    """Which packages of app/ each package imports (the app package itself, which assembles them all, aside)."""
    graph: dict[str, set[str]] = {}
    for path in APP.rglob("*.py"):
        if path.parent == APP and path.name == "__init__.py":
            continue
        source = app_package(module_name(path))
        graph.setdefault(source, set()).update(
            target for target in map(app_package, imported_names(path)) if target != source)
    return graph


def test_core_imports_no_feature():
    wrong = sorted(f"{module_name(path)} imports {name}" for path in (APP / "core").rglob("*.py")
                   for name in imported_names(path) if app_package(name) not in CORE_MAY_IMPORT)
    assert wrong == []


def test_packages_depend_on_each_other_one_way_only():
    graph = package_imports()

    def cycle_from(start: str, path: list[str]) -> list[str] | None:
        for target in sorted(graph.get(path[-1], ())):
            if target == start:
                return [*path, start]
            if target not in path and (found := cycle_from(start, [*path, target])):
                return found
        return None

    cycles = [cycle for package in sorted(graph) if (cycle := cycle_from(package, [package]))]
    assert cycles == []


def test_the_import_reader_sees_every_form_of_import(tmp_path):
    # The two tests above are only as good as the reader: each form below must be seen.
    module = tmp_path / "core" / "sample.py"
    module.parent.mkdir()
    module.write_text("import app.posts.services\nfrom app.social import keys\nfrom app import auth, config\n"
                      "from ..search import vectors\nfrom . import db\nimport json\n")
    assert imported_names(module, root=tmp_path) == {"app.posts.services", "app.social", "app.auth", "app.config",
                                      "app.search", "app.core"}


def test_every_form_that_posts_carries_its_csrf_token_through_the_one_macro():
    posting_forms = [(path.relative_to(TEMPLATES), form.group(0))
                     for path in TEMPLATES.rglob("*.html") if path.name != "forms.html"
                     for form in re.finditer(r"<form[^>]*method=\"post\".*?</form>", path.read_text(), re.S | re.I)]
    assert len(posting_forms) > 20
    assert [(path, form[:80]) for path, form in posting_forms
            if "{{ csrf_field() }}" not in form or 'name="csrf_token"' in form] == []
