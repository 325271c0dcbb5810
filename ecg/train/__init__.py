"""Training: the cross-validation plan every stage shares (`plan`, `folds`), synthetic
pretraining (`pretrain`), the design's two fine-tuning stages over every member
(`fine_tune`, `members`) and its direct command (`transfer`), the gradient-boosting baseline
(`gbm`), the loop built from named pieces (`loop`, `selection`, `checkpoint`, `run_state`,
`losses`, `live`), the training configs (`config`), and the ensembles with their out-of-fold
thresholds and what the evaluate stage writes (`evaluation`, `crossval_report`)."""
