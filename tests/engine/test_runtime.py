"""How engine code runs: items made one ahead on a thread of their own; spans of pairs on a pool;
arrays handed to kernels without reference counts."""
import threading

import numba
import numpy as np
import pytest

from jukimatch.engine.runtime import PAIR_BLOCK, borrowed, one_ahead, over_spans, threads_for


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


def _spans(n, threads=None):
    """The spans over_spans hands out for n items, and the threads that ran them."""
    seen, lock = [], threading.Lock()

    def kernel(out, lo, hi):
        out[lo:hi] += 1
        with lock:
            seen.append((lo, hi, threading.current_thread().name))

    out = np.zeros(n, np.int64)
    if threads == 1:
        with threads_for(0):  # one Numba thread set, as --threads 1 does
            over_spans(kernel, n, out)
    else:
        over_spans(kernel, n, out)
    return out, seen


@pytest.mark.parametrize("n", [0, 1, 2 * PAIR_BLOCK - 1, 2 * PAIR_BLOCK, 9 * PAIR_BLOCK + 3, 40 * PAIR_BLOCK + 1])
def test_over_spans_covers_every_item_once(n):
    out, seen = _spans(n)
    assert (out == 1).all()
    spans = sorted((lo, hi) for lo, hi, _ in seen)
    assert [lo for lo, _ in spans] == [0] + [hi for _, hi in spans[:-1]] and spans[-1][1] == n
    if n < 2 * PAIR_BLOCK or numba.get_num_threads() == 1:
        assert [name for *_, name in seen] == [threading.current_thread().name]
    else:
        assert len(seen) > 1 and all(name.startswith("jukimatch-pairs") for *_, name in seen)


def test_over_spans_stays_on_this_thread_with_one_thread_set_and_raises_a_kernels_error():
    out, seen = _spans(40 * PAIR_BLOCK, threads=1)
    assert (out == 1).all() and len(seen) == 1 and seen[0][2] == threading.current_thread().name

    def failing(lo, hi):
        raise ValueError("bad span")

    with pytest.raises(ValueError, match="bad span"):
        over_spans(failing, 40 * PAIR_BLOCK)


@numba.njit
def _fill(values, scratch, owner):
    a, (b, c), k = scratch
    for i in range(len(values)):
        a[i] = values[i] * k
        b[i] = values[i] + k
    c[0] = len(values)
    return a.sum() + b.sum()


@numba.njit
def _borrowing(values):
    owned = (np.empty(len(values)), (np.empty(len(values), np.int64), np.zeros(1, np.int64)), 3)
    total = _fill(borrowed(values), borrowed(owned), owned)
    return total, owned


def test_borrowed_views_read_and_write_the_arrays_they_borrow():
    values = np.arange(5, dtype=np.int64)
    total, (a, (b, c), k) = _borrowing(values)
    assert a.tolist() == [0, 3, 6, 9, 12] and b.tolist() == [3, 4, 5, 6, 7] and c.tolist() == [5] and k == 3
    assert total == a.sum() + b.sum()


def test_borrowed_takes_arrays_numbers_and_tuples_of_them_only():
    @numba.njit
    def text(x):
        return borrowed(x)

    with pytest.raises(numba.core.errors.TypingError):
        text("a name")
