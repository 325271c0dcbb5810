"""The de Chazal et al. (2004) inter-patient benchmark: DS1 trains, DS2 judges.

The published lists put records 201 (DS1) and 202 (DS2), one subject, on both sides; they are
kept as published so that the DS2 figures compare with the literature, which makes this one
benchmark not fully subject-disjoint (the cross-validation folds are).
"""

# fmt: off
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124",
       "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212",
       "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")
# fmt: on
