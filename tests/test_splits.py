"""The de Chazal et al. (2004) inter-patient benchmark lists, DS1 (train) and DS2 (judge)."""

from __future__ import annotations

from ecg.data.build import select_records
from ecg.data.mitdb import MITDB
from ecg.data.splits import DS1, DS2

PACED = {"102", "104", "107", "217"}
UNPACED = [r for r in MITDB.RECORDS if r not in PACED]  # the 44 records of the default run

# As published (de Chazal, O'Dwyer and Reilly, IEEE Trans. Biomed. Eng. 51(7), 2004), written
# out again here so that a record moved from one list to the other is caught.
PUBLISHED_DS1 = (
    "101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230"
).split()
PUBLISHED_DS2 = (
    "100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234"
).split()


def test_each_list_has_22_distinct_records():
    for ds in (DS1, DS2):
        assert len(ds) == 22 and len(set(ds)) == 22
        assert all(isinstance(r, str) for r in ds)


def test_lists_are_disjoint():
    assert not set(DS1) & set(DS2)


def test_together_they_are_exactly_the_44_unpaced_records():
    assert set(MITDB.PACED) == PACED
    assert len(UNPACED) == 44
    assert sorted(DS1 + DS2) == sorted(UNPACED)
    assert not (set(DS1) | set(DS2)) & PACED


def test_together_they_are_the_records_the_preprocess_stage_uses(pre_cfg):
    # params.yaml excludes the paced records; every window written belongs to DS1 or DS2
    assert sorted(select_records(pre_cfg, None)) == sorted(DS1 + DS2)


def test_lists_are_as_published():
    assert sorted(DS1) == sorted(PUBLISHED_DS1)
    assert sorted(DS2) == sorted(PUBLISHED_DS2)


def test_the_one_subject_on_both_sides_is_201_and_202():
    assert MITDB.subject("202") == MITDB.subject("201") == "201"
    assert "201" in DS1 and "202" in DS2
    ds1_subjects = {MITDB.subject(r) for r in DS1}
    ds2_subjects = {MITDB.subject(r) for r in DS2}
    assert ds1_subjects & ds2_subjects == {"201"}
    assert len(ds1_subjects) == len(ds2_subjects) == 22
    assert len(ds1_subjects | ds2_subjects) == 43
    # every other record of either list is its own subject
    assert all(MITDB.subject(r) == r for r in DS1 + DS2 if r != "202")
