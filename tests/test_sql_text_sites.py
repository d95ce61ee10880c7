"""No SQL text is built by formatting: an AST walk over app/ and tenants/ finds every `text(`,
`exec_driver_sql(` and `.execute(` whose SQL is an f-string, `%`-formatting, `.format()` or a
concatenation with a part that isn't a constant. Such text would carry request data into SQL
(the city roles stop a missing filter, not injected SQL: docs/security.md). The exceptions build
only identifiers the code itself chose, quoted; each is listed with its reason."""
import ast
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL_CALLS = frozenset({"text", "exec_driver_sql", "execute"})

# (file, function) -> why its formatted SQL is safe.
ALLOWED = {
    ("tenants/citus.py", "bootstrap"):
        "formats _ROLE_GRANTS, psycopg sql.SQL constants, with sql.Identifier (psycopg quotes)",
    ("tenants/migrations.py", "migrate_platform"):
        "the constant PLATFORM_SCHEMA",
    ("tenants/migrations.py", "new_revision"):
        "a schema name made of a constant and the process id, quoted",
    ("tenants/provisioning.py", "_drop"):
        "the city's schema and role, names the platform derived (tenants.naming), quoted",
}


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)


def _formatted(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return not (isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant))
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format" and not _psycopg_composition(node.func.value))


def _psycopg_composition(node: ast.AST) -> bool:
    """`sql.SQL("… {} …").format(sql.Identifier(x))`: psycopg quotes what it composes."""
    return isinstance(node, ast.Call) and _call_name(node) == "SQL"


def formatted_sql_sites() -> set[tuple[str, str]]:
    sites = set()
    paths = [*ROOT.joinpath("app").rglob("*.py"), *ROOT.joinpath("tenants").rglob("*.py")]
    for path in sorted(paths):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for call in ast.walk(function):
                if (isinstance(call, ast.Call) and _call_name(call) in SQL_CALLS and call.args
                        and _formatted(call.args[0])):
                    sites.add((str(path.relative_to(ROOT)), function.name))
    return sites


def test_no_sql_text_is_built_by_formatting_outside_the_allowed_sites():
    # In a process of its own: CPython 3.11's ast.parse shares a recursion counter with other
    # threads (python/cpython#106905), and a thread of this process formatting a traceback
    # (which parses source lines) made it fail with a SystemError once.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as walker:
        found = walker.submit(formatted_sql_sites).result()
    assert found - ALLOWED.keys() == set(), "SQL text built by formatting: use bind parameters"
    assert ALLOWED.keys() - found == set(), "allowed sites that no longer format SQL: remove them"


def test_the_walk_finds_formatting_where_it_is():
    source = 'def f(x):\n    db.session.execute(text(f"SELECT {x}"))\n'
    call = next(node for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Call) and _call_name(node) == "text")
    assert _formatted(call.args[0])
    assert not _formatted(ast.parse('"SELECT 1"').body[0].value)
