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
    size = max(math.isqrt(len(used)), 1)
    blocks = -(-len(used) // size)
    count = _block_counts(member, rank // size, blocks)  # [W, width, blocks]
    ahead = count.cumsum(2, dtype=np.int32)  # members in blocks <= b
    n = member.sum(1)
    some = n > 0
    lower = _kth(member, order, ranked, count, ahead, (n - 1) // 2, size)
    upper = _kth(member, order, ranked, count, ahead, n // 2, size)
    out[some] = ((lower + upper) / 2.0)[some]
    return out


def _sort_key(values: np.ndarray) -> np.ndarray:
    """int64 keys in the order of the float64 `values` (no NaN): faster to sort."""
    bits = values.view(np.int64)
    return bits ^ ((bits >> 63) & np.int64(0x7FFFFFFFFFFFFFFF))


def _block_counts(member: np.ndarray, block: np.ndarray, blocks: int) -> np.ndarray:
    """[W, width, blocks] members of window w whose column-c rank lies in each block, as
    running sums of the window-to-window changes."""
    n_windows, width = len(member), len(block)
    change = np.diff(member.astype(np.int8), axis=0, prepend=np.int8(0))
    w, u = np.nonzero(change)
    index = (w[:, None] * width + np.arange(width)) * blocks + block[:, u].T
    weight = np.repeat(change[w, u].astype(np.float64), width)
    flat = np.bincount(index.ravel(), weight, minlength=n_windows * width * blocks)
    return flat.reshape(n_windows, width, blocks).astype(np.int32).cumsum(0, dtype=np.int32)


def _kth(member, order, ranked, count, ahead, k: np.ndarray, size: int) -> np.ndarray:
    """[W, width] the k[w]-th smallest (from 0) member value of each window and column."""
    n_windows, width = count.shape[:2]
    k = np.maximum(k, 0).astype(np.int32)[:, None]
    block = (ahead > k[:, :, None]).argmax(2)  # [W, width]: the block holding it
    block = np.minimum(block, count.shape[2] - 1)
    before = np.take_along_axis(ahead - count, block[:, :, None], 2)[:, :, 0]
    rank = block[:, :, None] * size + np.arange(size)  # [W, width, size]
    inside = rank < order.shape[1]
    rank = np.minimum(rank, order.shape[1] - 1)
    beat = order[np.arange(width)[None, :, None], rank]
    present = member[np.arange(n_windows)[:, None, None], beat] & inside
    place = (present.cumsum(2, dtype=np.int16) > (k - before)[:, :, None]).argmax(2)
    return ranked[np.arange(width)[None, :], block * size + place]
