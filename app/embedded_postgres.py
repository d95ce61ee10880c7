"""The embedded PostgreSQL for development and tests (the `pgserver` package), used when
DATABASE_URL is not set. Its data lives in instance/pgdata; it keeps running between commands.

    python -m app.embedded_postgres url [DBNAME]   start if needed, create DBNAME, print its URI
    python -m app.embedded_postgres stop           stop the server
"""
import sys
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_INSTANCE = Path(__file__).resolve().parent.parent / "instance"
DEFAULT_DATABASE = "civiccloud"


def _server(instance_path: Path):
    # pgserver keeps a lock file in the user's runtime directory; without XDG_RUNTIME_DIR
    # (containers, CI) platformdirs warns and falls back to /tmp, which is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver  # imported here: production never loads it

    instance_path.mkdir(parents=True, exist_ok=True)
    return pgserver.get_server(instance_path / "pgdata", cleanup_mode=None)


def ensure_database(server_uri: str, database: str) -> None:
    """Create `database` on the server behind `server_uri` if it doesn't exist."""
    with psycopg.connect(server_uri, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def url(instance_path: Path = DEFAULT_INSTANCE, database: str = DEFAULT_DATABASE) -> str:
    """Start the embedded server if needed, make sure `database` exists, return its URI."""
    server = _server(Path(instance_path))
    ensure_database(server.get_uri(), database)
    return server.get_uri(database)


def stop(instance_path: Path = DEFAULT_INSTANCE) -> None:
    from pgserver._commands import pg_ctl

    pgdata = Path(instance_path) / "pgdata"
    if (pgdata / "postmaster.pid").exists():
        server = _server(Path(instance_path))
        pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)


def start(instance_path: Path) -> None:
    """Start the server of `instance_path` again after `stop`: same socket, so the URIs that
    `url` gave still work (the fault tests and bench/database_outage.py stop and start a
    throwaway server of their own)."""
    _server(Path(instance_path)).ensure_postgres_running()


def main(argv: list[str]) -> int:
    if argv[:1] == ["url"] and len(argv) <= 2:
        print(url(database=argv[1] if len(argv) == 2 else DEFAULT_DATABASE))
        return 0
    if argv == ["stop"]:
        stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
