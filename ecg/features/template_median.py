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
    ranks = _Ranks(ranked, max(math.isqrt(len(used)), 1))
    change = np.diff(member.astype(np.int8), axis=0, prepend=np.int8(0))
    n = member.sum(1)
    for w in range(n_windows):
        moved = np.flatnonzero(change[w])
        if len(moved):
            ranks.update(rank[:, moved], change[w, moved])
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
    then within one block. Indices are flat (cheaper than 2-D ones on these small arrays)."""

    def __init__(self, ranked: np.ndarray, size: int) -> None:
        width, self.u = ranked.shape
        self.ranked, self.size = ranked.ravel(), size
        self.blocks = -(-self.u // size)
        self.stride = (self.blocks + 2) * size  # room for a 2-block slice at the last block
        self.flags = np.zeros(width * self.stride, dtype=np.int16)
        self.count = np.zeros((width, self.blocks))
        self.rows = np.arange(width)
        self.span = np.arange(2 * size)

    def update(self, rank: np.ndarray, sign: np.ndarray) -> None:
        """Ranks [width, d] of d beats that joined (sign 1) or left (-1)."""
        self.flags[(self.rows * self.stride)[:, None] + rank] = sign > 0
        block = (self.rows * self.blocks)[:, None] + rank // self.size
        weight = np.broadcast_to(sign.astype(np.float64), block.shape).ravel()
        self.count += np.bincount(block.ravel(), weight, self.count.size).reshape(self.count.shape)

    def median(self, n: int) -> np.ndarray:
        ahead = self.count.cumsum(1)  # members in blocks <= b
        lower, first, seen, before = self._kth(ahead, self.rows, (n - 1) // 2)
        if n % 2:
            return lower
        target = n // 2 - before  # the next member: mostly in the same two blocks
        place = (seen > target[:, None]).argmax(1)
        upper = self.ranked[self.rows * self.u + first + place]
        beyond = seen[:, -1] <= target
        if beyond.any():
            upper[beyond] = self._kth(ahead[beyond], self.rows[beyond], n // 2)[0]
        return (lower + upper) / 2.0

    def _kth(self, ahead: np.ndarray, rows: np.ndarray, k: int):
        """The k-th smallest (from 0) member value of each of `rows` (and the state of the
        two blocks from the one holding it: their first rank, the running member count in
        them, the members before them)."""
        block = (ahead > k).argmax(1)
        at = rows * self.blocks + block
        before = ahead.ravel()[np.arange(len(rows)) * self.blocks + block] - self.count.ravel()[at]
        first = block * self.size
        seen = self.flags[(rows * self.stride + first)[:, None] + self.span].cumsum(1)
        place = (seen > (k - before)[:, None]).argmax(1)
        return self.ranked[rows * self.u + first + place], first, seen, before
