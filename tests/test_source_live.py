"""Live mode on a foreign source: catchup follows Message DB while its own write_message appends."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.cli.text import format_summary
from bench.results.folder import load_run
from tests import messagedb_server, messagedb_writer
from tests.cli_calls import one_error_line, run
from tests.data import SMALL, events_of
from tests.foreign_data import catalog_checksum, database_checksum

TYPE_TOTALS = str(Path(__file__).parent / "user_projections" / "type_totals.py") + ":TypeTotals"
AT_START = 20_000  # events in the log when the run starts; the application writes the rest meanwhile
SLICE = 500  # events per application write burst, every PAUSE_S: about 5k events/s
PAUSE_S = 0.1


@pytest.fixture
def mdb(pg_url: str) -> Iterator[str]:
    """A fresh Message DB holding the first AT_START events of SMALL; dropped after."""
    name = f"catchup_test_messagedb_live_{os.getpid()}"
    url = messagedb_server.install(pg_url, name)
    messagedb_writer.write_ledger(url, events_of(SMALL).slice(0, AT_START), chunk=2_000)
    yield url
    messagedb_server.drop(pg_url, name)


class Application(threading.Thread):
    """The system's own writer: the rest of SMALL through write_message, in bursts, with holes and audits."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.error = url, None

    def run(self) -> None:
        try:
            rest = events_of(SMALL).slice(AT_START)
            for seed, start in enumerate(range(0, rest.num_rows, SLICE), 100):
                messagedb_writer.write_ledger(self.url, rest.slice(start, SLICE), chunk=SLICE, seed=seed)
                time.sleep(PAUSE_S)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error


def _source(tmp_path: Path, url: str, *, category: bool) -> Path:
    path = tmp_path / ("accounts.toml" if category else "all.toml")
    text = messagedb_writer.source_toml(url, category="account" if category else None, mapped=category)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("category", "projection"),
    [(True, "balances"), (False, TYPE_TOTALS)],
    ids=["one category, commits in order", "every category, the rule for concurrent commits"],
)
def test_live_follows_the_log_as_its_application_writes_and_verifies(
    mdb: str, tmp_path: Path, category: bool, projection: str
) -> None:
    path = _source(tmp_path, mdb, category=category)
    catalog = catalog_checksum(mdb)
    application = Application(mdb)
    application.start()
    code, out, err = run(
        "live", str(path), "-p", projection, "--interval", "4k", "--observe", "1.5", "--max-duration", "30", "--batch-size", "500",
        "--out", str(tmp_path / "results"),
    )  # fmt: skip
    application.join(timeout=60)
    assert application.error is None
    assert code == 0, err
    assert "following" in err and "caught up after" in err
    folder = Path(re.search(r"^results: (.+)$", out, re.M).group(1))  # type: ignore[union-attr]
    loaded = load_run(folder)
    live = loaded.live
    assert live is not None and live.followed and live.verified and live.caught_up
    assert live.rate_achieved > 0 and live.writer_failures == () and live.shortfall is None
    assert live.start_head > AT_START  # positions are not counts: the holes and the audits
    assert loaded.head == live.events_at_start == live.start_events  # what the run speaks of counts events
    assert AT_START <= loaded.head < live.start_head
    assert live.tail_events < AT_START and live.final_head > live.start_head  # it read what arrived meanwhile
    assert live.snapshots >= 1
    assert "written by the source's own application" in format_summary(loaded)
    code, _, err = run("report", str(folder), "--out", str(tmp_path / "live.md"))
    assert code == 0, err
    markdown = (tmp_path / "live.md").read_text()
    assert "arriving" in markdown and "the source's own application appended" in markdown
    assert f"from {loaded.head:,} events at" in markdown
    assert catalog_checksum(mdb) == catalog  # nothing created or altered; only the application's rows changed
    with psycopg.connect(mdb) as conn:
        held = conn.execute(
            "SELECT count(*) FROM message_store.messages WHERE message_store.category(stream_name) = 'account'"
        )
        assert held.fetchone() == (SMALL.events,)  # every row there is the application's


def test_following_a_quiet_log_leaves_it_byte_for_byte_unchanged(mdb: str, tmp_path: Path) -> None:
    path = _source(tmp_path, mdb, category=True)
    before = database_checksum(mdb)
    code, out, err = run(
        "live", str(path), "-p", "balances", "--interval", "4k", "--observe", "0.5", "--out", str(tmp_path / "r"),
    )  # fmt: skip
    assert code == 0, err
    live = load_run(Path(re.search(r"^results: (.+)$", out, re.M).group(1))).live  # type: ignore[union-attr]
    assert live is not None and live.verified and live.caught_up and live.rate_achieved == 0
    assert live.final_head == live.start_head
    assert database_checksum(mdb) == before


def test_rate_and_writers_are_refused_for_a_foreign_source(mdb: str, tmp_path: Path) -> None:
    path = _source(tmp_path, mdb, category=True)
    code, _, err = run("live", str(path), "-p", "balances", "--interval", "4k", "--rate", "1k")
    assert code == 1
    assert one_error_line(err) == (
        f"Error: --rate and --writers are for catchup's own stores: {path} is a foreign source, written by "
        "its own application; leave both out to follow it as it is written"
    )
