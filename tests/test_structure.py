"""The code's shape: apps depend one way, and every row lock is taken the one way that cannot deadlock.

Apps, from the bottom up; each may import only the apps below it (and Django, and itself):

    portal       the Agent and its role, who may manage agents, health checks, headers
    activitylog  the append-only log, record() and audited(); the Activity log page
    agents       the agent services (each change logged), the Agents page, signing in
    customers    customers, subscriptions, users and roles; their pages
    outbox       changes queued for Microsoft in the deciding service's transaction, and their worker
    permissions  purchase permissions, readiness, the Account page
    microsoft    the Microsoft connection: client, tokens, the sync into customers and permissions
    purchases    what customers buy themselves: mirrors, de-duplication, notifications, the limit,
                 the partner's operations on them
    api          the JSON API and API tokens
    demo         seed_demo, which acts out every service

The project's own modules (settings, the root URLconf, WSGI) live in portal/ and name every app; they
are not the portal app. Imports under ``if TYPE_CHECKING:`` only name a type passed in from above and
never run, so they are not arrows. Lines read like a sentence when one fails:
"customers/views.py imports permissions (above customers)".
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["portal", "activitylog", "agents", "customers", "outbox", "permissions", "microsoft", "purchases",
          "api", "demo"]
PROJECT_MODULES = {"portal/settings.py", "portal/urls.py", "portal/wsgi.py"}


def app_modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative not in PROJECT_MODULES:
                yield app, relative, ast.parse(path.read_text(), filename=relative)


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    hidden = set()
    for node in ast.walk(tree):
        test = getattr(node, "test", None)
        if isinstance(node, ast.If) and getattr(test, "id", getattr(test, "attr", "")) == "TYPE_CHECKING":
            hidden |= {id(inner) for inner in ast.walk(node)
                       if isinstance(inner, ast.Import | ast.ImportFrom)}
    return hidden


def imported_apps(tree: ast.Module) -> set[str]:
    hidden = _type_checking_only(tree)
    names = []
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return {name.split(".")[0] for name in names} & set(LAYERS)


def back_arrows() -> list[str]:
    arrows = []
    for app, module, tree in app_modules():
        for other in sorted(imported_apps(tree)):
            if LAYERS.index(other) > LAYERS.index(app):
                arrows.append(f"{module} imports {other} (above {app})")
    return arrows


def test_apps_depend_only_on_the_apps_below_them():
    assert back_arrows() == []


def test_the_check_sees_a_back_arrow_even_in_a_function_and_not_a_type_only_import():
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from api.models import ApiToken\n"
        "def later():\n    from permissions import views\n"
    )
    assert imported_apps(tree) == {"permissions"}


def test_portal_names_no_other_app_outside_the_project_modules():
    for app, module, tree in app_modules():
        if app == "portal":
            assert imported_apps(tree) <= {"portal"}, module


def _row_locks():
    for _app, module, tree in app_modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "select_for_update":
                yield module, node.lineno, {keyword.arg: ast.literal_eval(keyword.value)
                                            for keyword in node.keywords}


def test_every_row_lock_lets_foreign_key_checks_through():
    """FOR NO KEY UPDATE of the row itself (README, How a write flows): a Failed entry's foreign-key
    check, made at its commit while it holds the log's lock, must never wait for a writer's row lock."""
    locks = list(_row_locks())
    assert locks, "no select_for_update found: the check looks in the wrong place"
    for module, line, options in locks:
        # The outbox's lease also skips rows another worker holds (skip_locked): still FOR NO KEY UPDATE.
        options.pop("skip_locked", None) if module == "outbox/worker.py" else None
        assert options == {"no_key": True, "of": ("self",)}, f"{module}:{line}"
