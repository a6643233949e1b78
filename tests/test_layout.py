"""Imports go one way (DESIGN.md §5): blueprints → services → graph, models and the frame.

Read from the source with ast, so an import inside a function counts as much as one at the top.
"""

import ast
import pathlib
import shutil
import sys

import pytest

PORTAL = pathlib.Path(__file__).resolve().parent.parent / "portal"

# The frame's parts that know nothing of Flask, and those that are Flask's plumbing.
PLAIN_FRAME = {
    "portal.db",
    "portal.prepared",
    "portal.kept",
    "portal.crypto",
    "portal.redaction",
    "portal.paging",
    "portal.invitation",
    "portal.ids",
    "portal.spreadsheet",
    "portal.numbers",
    "portal.ratelimits",
}
FLASK_FRAME = {"portal.htmx", "portal.security", "portal.extensions", "portal.addresses"}
SERVICES = {
    "portal.connections",
    "portal.insights",
    "portal.compliance",
    "portal.scheduler",
    "portal.campaigns",
    "portal.reports",
    "portal.creator_import",
    "portal.mail",
}
BLUEPRINTS = {"portal.staff", "portal.linking", "portal.meta", "portal.clients"}
FLASK = ("flask", "flask_login", "flask_wtf", "flask_limiter", "authlib.integrations.flask_client")
FLASK += ("playhouse.flask_utils", *FLASK_FRAME)


def module_name(path):
    parts = list(path.relative_to(PORTAL.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path):
    """Return (line, imported module) for every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from portal.insights import figures` imports the module portal.insights.figures.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            if base != "portal":  # `from portal import db` imports portal.db, not the factory
                found.append((node.lineno, base))
    return found


PARTS = [
    *((package, "service") for package in SERVICES),
    *((package, "blueprint") for package in BLUEPRINTS),
    *((module, "frame") for module in PLAIN_FRAME | FLASK_FRAME),
    ("portal.graph", "graph"),
    ("portal.models", "models"),
    ("portal.sandbox", "sandbox"),
    ("portal.migrations", "migrations"),
]


def area(name):
    """Return (part of the layout, its package or module) for a portal module or a name in one."""
    for package, label in PARTS:
        if name == package or name.startswith(package + "."):
            return label, package
    return "factory", name  # portal/__init__.py (create_app) and the CLI: they wire everything


# What each part may import from the portal, by the part of the imported module.
ALLOWED = {
    "frame": {"frame"},
    "graph": {"frame", "graph"},
    "models": {"frame", "models"},
    "migrations": {"frame", "models"},
    "service": {"frame", "graph", "models", "service"},
    "blueprint": {"frame", "graph", "models", "service", "blueprint"},
    "sandbox": {"frame", "sandbox"},  # written from Meta's documentation, never from the portal's code
    "factory": {"frame", "graph", "models", "migrations", "service", "blueprint", "sandbox", "factory"},
}
NO_FLASK = {"graph", "models", "migrations", "service"}


def portal_files():
    return sorted(PORTAL.rglob("*.py"))


def layout_problems():
    """Return every import that goes the wrong way, as "file:line: why"."""
    problems = []
    for path in portal_files():
        name = module_name(path)
        kind, package = area(name)
        if package in PLAIN_FRAME:
            kind = "plain frame"
        for line, imported in imports_of(path):
            where = f"{path.relative_to(PORTAL.parent)}:{line}"
            if kind in NO_FLASK | {"plain frame"} and imported.startswith(FLASK):
                problems.append(f"{where}: {kind} {name} imports Flask ({imported})")
            if not imported.startswith("portal.") or imported == name:
                continue
            other_kind, other_package = area(imported)
            allowed = ALLOWED["frame" if kind == "plain frame" else kind]
            if other_kind not in allowed:
                problems.append(f"{where}: {kind} {name} imports {other_kind} {imported}")
            elif kind == "blueprint" == other_kind and other_package != package:
                problems.append(f"{where}: blueprint {name} imports another blueprint's {imported}")
            elif kind == "plain frame" and other_package in FLASK_FRAME:
                problems.append(f"{where}: {name} knows no Flask but imports {imported}")
    return problems


def service_dependencies():
    """Return {service package: service packages it imports}."""
    uses = {package: set() for package in SERVICES}
    for path in portal_files():
        kind, package = area(module_name(path))
        if kind != "service":
            continue
        for _line, imported in imports_of(path):
            other_kind, other_package = area(imported)
            if other_kind == "service" and other_package != package:
                uses[package].add(other_package)
    return uses


def test_imports_go_one_way():
    assert layout_problems() == []


def test_service_packages_do_not_import_each_other_in_a_circle():
    uses = service_dependencies()

    def reaches(start, target, seen=()):
        return any(
            nxt == target or (nxt not in seen and reaches(nxt, target, (*seen, nxt))) for nxt in uses[start]
        )

    circles = sorted(package for package in SERVICES if reaches(package, package))
    assert circles == [], f"service packages in an import circle: {circles}; {uses}"


@pytest.mark.parametrize(
    "module, source, expected",
    [
        (
            "models/extra.py",
            "from portal.insights import refresh\n",
            "models portal.models.extra imports service",
        ),
        ("graph/extra.py", "from portal.staff import bp\n", "graph portal.graph.extra imports blueprint"),
        ("insights/extra.py", "def f():\n    from flask import request\n", "imports Flask (flask)"),
        ("insights/extra.py", "from portal.linking.session import put_result\n", "imports blueprint"),
        ("staff/extra.py", "from portal.linking import bp\n", "imports another blueprint's"),
        (
            "sandbox/extra.py",
            "from portal.graph import GraphClient\n",
            "sandbox portal.sandbox.extra imports graph",
        ),
        ("connections/extra.py", "from portal import create_app\n", "imports factory portal.create_app"),
    ],
)
def test_a_wrong_way_import_is_reported(tmp_path, monkeypatch, module, source, expected):
    """The check itself: each kind of wrong-way import, added to a copy of the tree, is named."""
    copy = tmp_path / "portal"
    shutil.copytree(PORTAL, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / module).write_text(source, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "PORTAL", copy)
    problems = layout_problems()
    assert any(expected in problem and module in problem for problem in problems), problems
