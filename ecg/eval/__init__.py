"""Judging a model on subjects it never saw: classification metrics and curves (`metrics`),
the decision threshold rule (`threshold`), subject-bootstrap intervals (`bootstrap`), running
a model over many windows (`scoring`), EC57 beat-by-beat VEB/SVEB statistics (`ec57`) and the
evaluation report (`report`). Never imports training: evaluation cannot reach back into how a
model was fitted."""
