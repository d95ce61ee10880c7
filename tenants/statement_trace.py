"""Every statement this process sends to PostgreSQL through an engine, as libpq traces it: for
the tests and benchmarks that count what a request costs. SQLAlchemy's events miss part of it
(BEGIN, COMMIT, ROLLBACK, a pool's pre-ping, psycopg's own DEALLOCATE ALL after a ROLLBACK);
the wire does not.

    trace = StatementTrace(engine)   # traces the connections the engine opens from now on
    start = trace.mark()
    ...                              # a request
    trace.statements(start)          # ["BEGIN", "SELECT set_config(...)", ..., "COMMIT"]
"""
import tempfile

import sqlalchemy as sa


class StatementTrace:
    def __init__(self, engine: sa.Engine):
        self._file = tempfile.TemporaryFile()
        self._engine = engine
        engine.dispose()  # connections opened before were not traced
        sa.event.listen(engine, "connect", self._trace)

    def _trace(self, dbapi_connection, _record):
        from psycopg import pq

        dbapi_connection.pgconn.trace(self._file.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def _lines(self) -> list[str]:
        self._file.seek(0)
        return self._file.read().decode(errors="replace").splitlines()

    def mark(self) -> int:
        """A position in the trace: statements(mark) lists what came after it."""
        return len(self._lines())

    def statements(self, since: int = 0) -> list[str]:
        """The statements sent after `since`: a simple Query each, or an extended-protocol
        Execute (the text of its Parse; a prepared statement's text is found by its name)."""
        prepared, sent, current = {}, [], None
        for number, line in enumerate(self._lines()):
            direction, _length, kind, rest = (line.split("\t", 3) + ["", "", "", ""])[:4]
            if direction != "F":
                continue
            rest = rest.strip()
            if kind == "Query":
                text = rest[1:rest.rfind('"')]
            elif kind == "Parse":  # "name" "text" n types...: a name has no quote in it
                name, _, text = rest[1:].partition('" "')
                prepared[name] = current = text[:text.rfind('"')]
                continue
            elif kind == "Bind":  # "portal" "statement" ...
                name = rest.split('"')[3]
                if name:
                    current = prepared.get(name, name)
                continue
            elif kind == "Execute":
                text = current
            else:
                continue
            if number >= since:
                sent.append(text)
        return sent

    def close(self) -> None:
        sa.event.remove(self._engine, "connect", self._trace)
        self._engine.dispose()
        self._file.close()
