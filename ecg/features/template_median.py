"""Column medians of many subsets of one matrix's rows: the running dominant beats of all
windows of a record, each the median of up to 256 of the record's beat segments.

Window after window, the subsets change by a few rows (the beats that entered the history and
the ones that left it), so the rows are ranked once per column and each window's order
statistics are found from counts: the members per block of `size` consecutive ranks (running
sums of the changes from window to window), then, inside the block that holds the k-th
member, the members in rank order. That costs O(windows x columns x sqrt(rows)) against
O(windows x columns x members) for a median per window, and picks the very same elements, so
the medians are the same numbers as `np.median`'s.
"""

from __future__ import annotations

import math

import numpy as np


def column_medians(rows: np.ndarray, members: np.ndarray) -> np.ndarray:
    """[W, width]: for each w, the median over the rows `members[w]` selects of `rows`
    [n, width], column by column, as `np.median(rows[members[w]], axis=0)` (NaN where w
    selects none). The selected rows must hold no NaN."""
    n_windows, width = len(members), rows.shape[1]
    out = np.full((n_windows, width), np.nan)
    used = np.flatnonzero(members.any(0))
    if not len(used):
        return out
    member = members[:, used]
    values = np.ascontiguousarray(rows[used].T)  # [width, u]
    order = np.argsort(_sort_key(values), axis=1)  # per column: rows by value
    ranked = np.take_along_axis(values, order, 1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(len(used)), 1)
    ranks = _Ranks(ranked, rank, max(math.isqrt(len(used)), 1))
    change = np.diff(member.astype(np.int8), axis=0, prepend=np.int8(0))
    when, moved = np.nonzero(change)  # beat moved[i] joined or left at window when[i]
    sign = change[when, moved]
    bounds = np.searchsorted(when, np.arange(n_windows + 1))
    n = member.sum(1)
    for w in range(n_windows):
        a, b = bounds[w], bounds[w + 1]
        if b > a:
            ranks.update(moved[a:b], sign[a:b])
        if n[w]:
            out[w] = ranks.median(int(n[w]))
    return out


def _sort_key(values: np.ndarray) -> np.ndarray:
    """int64 keys in the order of the float64 `values` (no NaN): faster to sort."""
    bits = values.view(np.int64)
    return bits ^ ((bits >> 63) & np.int64(0x7FFFFFFFFFFFFFFF))


class _Ranks:
    """Which ranks of each column are members now: one flag per rank, and the count per
    block of `size` consecutive ranks, so that the k-th member is found from the counts and
    then within one block. On arrays this small numpy's cost is in the calls and in short
    rows, so indices are flat and precomputed, and running sums run over a whole flat
    integer array (one row after another; a row's sums are the differences from its start)."""

    def __init__(self, ranked: np.ndarray, rank: np.ndarray, size: int) -> None:
        width, u = ranked.shape
        self.size, self.blocks = size, -(-u // size)
        self.ranked = ranked.ravel()
        self.flags = np.zeros(width * self.blocks * size, dtype=np.int32)
        self.count = np.zeros(width * self.blocks, dtype=np.int64)
        columns = np.arange(width)
        self.flag_at = rank + (columns * self.blocks * size)[:, None]  # [width, beats]
        self.block_at = rank // size + (columns * self.blocks)[:, None]
        self.column_block = columns * self.blocks
        self.column_rank = columns * u
        self.within = np.arange(size)
        self.shape = (width, self.blocks)

    def update(self, beats: np.ndarray, sign: np.ndarray) -> None:
        """`beats` joined (sign 1) or left (-1)."""
        self.flags[self.flag_at[:, beats]] = sign > 0
        size = len(self.count)
        self.count += np.bincount(self.block_at[:, beats[sign > 0]].ravel(), minlength=size)
        self.count -= np.bincount(self.block_at[:, beats[sign < 0]].ravel(), minlength=size)

    def median(self, n: int) -> np.ndarray:
        total = np.cumsum(self.count)  # members up to each block, all columns in turn
        base = np.concatenate([[0], total])[self.column_block]  # ... before each column
        lower = self._kth(total, base, (n - 1) // 2)
        return lower if n % 2 else (lower + self._kth(total, base, n // 2)) / 2.0

    def _kth(self, total: np.ndarray, base: np.ndarray, k: int) -> np.ndarray:
        """The k-th smallest (from 0) member value of each column."""
        block = (total.reshape(self.shape) > (base + k)[:, None]).argmax(1)
        at = self.column_block + block
        before = total[at] - self.count[at] - base  # members in the column's blocks before
        seen = np.cumsum(self.flags[(at * self.size)[:, None] + self.within])
        start = np.concatenate([[0], seen[self.size - 1 :: self.size][:-1]])
        place = (seen.reshape(-1, self.size) > (start + k - before)[:, None]).argmax(1)
        return self.ranked[self.column_rank + block * self.size + place]
