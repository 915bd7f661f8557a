"""A lease gives a periodic duty of the fleet to one process at a time."""

import multiprocessing as mp
import time

from core.store.leases import holder_of, take_turn


def test_the_holder_renews_and_another_waits_until_it_expires(db_url):
    assert take_turn("duty", "w1", 60, db_url)
    assert not take_turn("duty", "w2", 60, db_url)
    assert take_turn("duty", "w1", 60, db_url)  # its own: renewed
    assert holder_of("duty", db_url) == "w1"
    assert take_turn("other", "w2", 60, db_url)  # each duty has its own lease


def test_an_expired_lease_moves_to_the_next_process_that_asks(db_url):
    assert take_turn("duty", "w1", 0.2, db_url)
    assert not take_turn("duty", "w2", 60, db_url)
    time.sleep(0.3)  # w1 died, or missed its turn
    assert take_turn("duty", "w2", 60, db_url)
    assert not take_turn("duty", "w1", 60, db_url)
    assert holder_of("duty", db_url) == "w2"


def _ask(url: str, name: str, start, out) -> None:
    start.wait()
    out.put((name, take_turn("duty", name, 60, url)))


def test_of_processes_that_ask_at_once_exactly_one_holds_it(db_url):
    from core.store.db import dispose_engines

    dispose_engines()  # no pooled connection crosses the fork
    ctx = mp.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_ask, args=(db_url, f"w{i}", start, out)) for i in range(6)]
    for p in procs:
        p.start()
    start.set()
    got = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(30)
    [winner] = [name for name, won in got.items() if won]
    assert holder_of("duty", db_url) == winner
