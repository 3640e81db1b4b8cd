"""Our embedded engine (app/core/embedded_engine.py) overrides private methods of a pinned mongoeco.
These tests fail when an upgrade of mongoeco would drop or change one of its fixes silently: a
method it overrides, or a name of mongoeco's it uses, is gone or changed."""
import ast
import functools
import importlib
import inspect
import re
import textwrap
from pathlib import Path

import mongoeco

from app.core import embedded_engine

ENGINE_TREE = ast.parse(Path(embedded_engine.__file__).read_text())
PASSED_AS_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
PASSED_BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
CATCH_ALLS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def subclasses_of_mongoecos() -> list[tuple[ast.ClassDef, type, type]]:
    """(source, class, mongoeco's class) for each class of our engine's module that extends mongoeco's."""
    found = []
    for node in ENGINE_TREE.body:
        if isinstance(node, ast.ClassDef):
            ours = getattr(embedded_engine, node.name)
            stock = ours.__bases__[0]
            if stock.__module__.startswith("mongoeco."):
                found.append((node, ours, stock))
    return found


def methods_defined(node: ast.ClassDef) -> list[str]:
    return [item.name for item in node.body if isinstance(item, ast.FunctionDef)]


def function_of(attribute):
    """The function behind a method, static or class method, or property."""
    return (getattr(attribute, "__func__", None) or getattr(attribute, "func", None)
            or getattr(attribute, "fget", None) or attribute)


def marked_as_override(ours: type, name: str) -> bool:
    return getattr(function_of(vars(ours)[name]), "__override__", False)


def set_on_self(tree: ast.AST) -> set[str]:
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name) and node.value.id == "self"}


@functools.cache
def stock_attributes(stock: type) -> set[str]:
    """What an instance of `stock` has: its classes' attributes and those their code sets on self."""
    names = set(dir(stock))
    for cls in stock.__mro__:
        if cls.__module__.startswith("mongoeco."):
            names |= set_on_self(ast.parse(textwrap.dedent(inspect.getsource(cls))))
    return names


@functools.cache
def mongoeco_source() -> str:
    return "\n".join(path.read_text() for path in sorted(Path(mongoeco.__file__).parent.rglob("*.py")))


def mongoeco_calls(name: str) -> bool:
    """Whether mongoeco's own code reads `x.name` anywhere (an override it never reads is never called)."""
    return re.search(rf"\.{name}\b", mongoeco_source()) is not None


def signature_mismatches(ours, stock) -> list[str]:
    """How a call mongoeco makes to `stock` would not reach `ours` as meant: each parameter we name
    must be one of stock's, at its position, required only where stock's is; the others of stock's
    must land in our *args or **kwargs."""
    ours_parameters = inspect.signature(ours).parameters
    stock_parameters = inspect.signature(stock).parameters
    catch_alls = {parameter.kind for parameter in ours_parameters.values() if parameter.kind in CATCH_ALLS}
    ours_positions = [name for name, parameter in ours_parameters.items() if parameter.kind in PASSED_AS_POSITIONAL]
    stock_positions = [name for name, parameter in stock_parameters.items() if parameter.kind in PASSED_AS_POSITIONAL]
    problems = []
    for name, parameter in ours_parameters.items():
        if parameter.kind in CATCH_ALLS:
            continue
        if name not in stock_parameters or stock_parameters[name].kind in CATCH_ALLS:
            problems.append(f"mongoeco's has no parameter {name!r}")
        elif name in stock_positions and stock_positions.index(name) != (
                ours_positions.index(name) if name in ours_positions else None):
            problems.append(f"{name!r} is not at mongoeco's position {stock_positions.index(name)}")
        elif parameter.default is parameter.empty and stock_parameters[name].default is not parameter.empty:
            problems.append(f"{name!r} is optional in mongoeco's, required in ours")
    for name, parameter in stock_parameters.items():
        landing = {inspect.Parameter.VAR_POSITIONAL} if parameter.kind in PASSED_AS_POSITIONAL else set()
        landing |= {inspect.Parameter.VAR_KEYWORD} if parameter.kind in PASSED_BY_NAME else set()
        if parameter.kind not in CATCH_ALLS and name not in ours_parameters and not landing & catch_alls:
            problems.append(f"mongoeco's parameter {name!r} has no place in ours")
    return problems


def test_the_classes_checked_below_are_found():
    found = {ours for _, ours, _ in subclasses_of_mongoecos()}
    assert {embedded_engine.GlimpseSQLiteEngine, embedded_engine.ReusableConnection} <= found


def test_every_override_still_overrides_a_method_mongoeco_calls_with_the_same_parameters():
    problems = []
    for node, ours, stock in subclasses_of_mongoecos():
        for name in filter(functools.partial(marked_as_override, ours), methods_defined(node)):
            stock_method = inspect.getattr_static(stock, name, None)
            if stock_method is None:
                problems.append(f"{ours.__name__}.{name}: mongoeco's {stock.__name__} has no such method")
                continue
            problems += [f"{ours.__name__}.{name}: {problem}"
                         for problem in signature_mismatches(function_of(vars(ours)[name]), function_of(stock_method))]
            if not name.startswith("__") and not mongoeco_calls(name):
                problems.append(f"{ours.__name__}.{name}: nothing in mongoeco calls it")
    assert problems == []


def test_every_method_that_overrides_one_of_mongoecos_is_marked_as_an_override():
    # The marks are what the test above checks: a method overriding unmarked would go unchecked.
    unmarked = [f"{ours.__name__}.{name}" for node, ours, stock in subclasses_of_mongoecos()
                for name in methods_defined(node)
                if inspect.getattr_static(stock, name, None) is not None and not marked_as_override(ours, name)]
    assert unmarked == []


def mongoeco_names_used() -> list[tuple[int, str]]:
    """(line, dotted name) of each name our engine's module imports from mongoeco or reads off one."""
    imported = {}
    for node in ast.walk(ENGINE_TREE):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mongoeco":
            imported |= {alias.asname or alias.name: f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mongoeco":  # `import a.b` binds a; `import a.b as c`, a.b
                    imported[alias.asname or "mongoeco"] = alias.name if alias.asname else "mongoeco"
    used = set()
    for node in ast.walk(ENGINE_TREE):
        path, root = [], node
        while isinstance(root, ast.Attribute):
            path.insert(0, root.attr)
            root = root.value
        if isinstance(root, ast.Name) and root.id in imported:
            used.add((node.lineno, ".".join([imported[root.id], *path])))
    return sorted(used)


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            functools.reduce(getattr, parts[split:], found)
        except AttributeError:
            return False
        return True
    return False


def test_every_name_of_mongoecos_our_engine_uses_still_exists():
    used = mongoeco_names_used()
    assert any(name.rsplit(".", 1)[-1].startswith("_") for _, name in used)  # private ones among them
    assert [f"line {line}: {name}" for line, name in used if not resolves(name)] == []


def test_every_attribute_our_subclasses_read_off_mongoecos_still_exists():
    # `self.x` where x is not ours (mongoeco's methods and the state its __init__ sets), and `super().x`.
    problems = []
    for node, ours, stock in subclasses_of_mongoecos():
        ours_names = set(vars(ours)) | set_on_self(node)
        for read in ast.walk(node):
            if not isinstance(read, ast.Attribute):
                continue
            of_self = isinstance(read.value, ast.Name) and read.value.id == "self" and read.attr not in ours_names
            of_super = isinstance(read.value, ast.Call) and getattr(read.value.func, "id", None) == "super"
            if (of_self or of_super) and read.attr not in stock_attributes(stock):
                problems.append(f"line {read.lineno}: {ours.__name__} reads {read.attr}, which {stock.__name__} lacks")
    assert problems == []


def test_the_facts_our_engine_keeps_across_writes_are_still_named_as_mongoeco_names_them():
    # Item 6 keeps mongoeco's cached facts across writes by their keys ("top_level_array:<field>"...):
    # under new names they would all be forgotten at each write again.
    kept = set(embedded_engine.ABSENCE_FACTS) | set(embedded_engine.UNIFORMITY_FACTS)
    kept.discard(embedded_engine.EVERY_DOCUMENT_HOLDS)  # ours
    assert [kind for kind in sorted(kept) if f'f"{kind}:' not in mongoeco_source()] == []

