"""The data the models learn from. `MITDB` owns the MIT-BIH records, subjects, reading and the
rule for a record without the lead; `download` materialises it with checksums; `labels` turns
reference annotations into window labels, `beat_labels` into AAMI classes of detected beats
and `rhythms` into window rhythm classes; `splits` holds de Chazal's DS1 / DS2 lists;
`windows` and `build` cut records into labelled, quality-scored windows and write the dataset
files (`files`); `detected_beats` keeps the QRS detector's beats per record; `synthetic`
makes pretraining ECG; `config` holds the data sections of params.yaml."""
