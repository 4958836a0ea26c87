"""A state store that does not answer: one clear line, never the SQL nor its parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from digest.cli import main
from digest.cli.main import _store_problem
from digest.delivery.store import DELIVERY, Store
from tests.sites import write_site


def test_a_database_that_does_not_answer_is_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    site = write_site(tmp_path / "site")
    monkeypatch.setenv("DIGEST_DATABASE_URL", "postgresql://digest:secret@127.0.0.1:1/test")
    assert main(["--site", str(site), "status"]) == 1
    err = capsys.readouterr().err
    assert "the delivery state cannot be opened" in err
    assert "database server is running and reachable, and DIGEST_DATABASE_URL" in err
    assert "internal error" not in err and "Traceback" not in err
    assert "secret" not in err  # the password in the URL is never printed


def test_a_failing_statement_never_prints_its_parameters(store: Store) -> None:
    row = {"delivery_key": "k", "schedule_id": "s", "occurrence_key": "o",
           "recipient_id": "private-person", "email": "private.person@example.gov.uk"}  # fmt: skip
    with pytest.raises(sa.exc.SQLAlchemyError) as raised, store.transaction() as connection:
        connection.execute(DELIVERY.insert().values(row))  # missing columns: refused
        connection.execute(DELIVERY.insert().values(row))
    assert "SQL parameters hidden" in str(raised.value)  # not in SQLAlchemy's message
    said = _store_problem(raised.value)  # nor in the line digest prints (PostgreSQL's own
    assert said is not None  # detail names the failing row: it is left out)
    assert "private.person@example.gov.uk" not in said and "[SQL" not in said
