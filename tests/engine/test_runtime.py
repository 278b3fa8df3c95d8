"""How engine code runs: items made one ahead on a thread of their own."""
import threading

import pytest

from jukimatch.engine.runtime import one_ahead


def test_one_ahead_keeps_order_and_makes_items_off_the_consumers_thread():
    made_on = []

    def items(n):
        for i in range(n):
            made_on.append(threading.current_thread().name)
            yield i

    assert list(one_ahead(items(5))) == [0, 1, 2, 3, 4]
    assert len(made_on) == 5 and all(name.startswith("jukimatch-ahead") for name in made_on)
    assert list(one_ahead([])) == []


def test_one_ahead_raises_where_the_item_is_taken_and_stops_when_closed():
    def failing():
        yield 1
        raise ValueError("bad item 2")

    got = one_ahead(failing())
    assert next(got) == 1
    with pytest.raises(ValueError, match="bad item 2"):
        next(got)

    made = []

    def counted():
        for i in range(100):
            made.append(i)
            yield i

    got = one_ahead(counted())
    assert next(got) == 0
    got.close()  # the one made ahead is finished, nothing more
    assert made == [0, 1]
