"""The MIT-BIH Arrhythmia Database (PhysioNet mitdb 1.0.0) as one object: its records and
subjects, the paced records, reading one lead with the reference annotations, and the rule
for a record that lacks the lead."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from ecg.core.errors import ECGError
from ecg.data.record import MissingLead, Record, read_header, read_wfdb_lead, require_file


class MITDB:
    """The 48 records of mitdb in `directory` (`NNN.hea`, `NNN.dat`, `NNN.atr`)."""

    name = "mitdb"
    version = "1.0.0"
    fs = 360.0  # Hz, every record
    annotator = "atr"
    # PhysioNet mitdb 1.0.0, file RECORDS.
    RECORDS: tuple[str, ...] = tuple(
        (
            "100 101 102 103 104 105 106 107 108 109 111 112 113 114 115 116 117 118 119 121 "
            "122 123 124 200 201 202 203 205 207 208 209 210 212 213 214 215 217 219 220 221 "
            "222 223 228 230 231 232 233 234"
        ).split()
    )
    PACED: tuple[str, ...] = ("102", "104", "107", "217")
    # Records 201 and 202 come from the same man (mitdb README): every subject fold keeps
    # them together under the subject id "201".
    _SUBJECT_OF = {"202": "201"}

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    @classmethod
    def subject(cls, record_id: str) -> str:
        """The subject (patient) a record comes from."""
        return cls._SUBJECT_OF.get(record_id, record_id)

    def read(self, record_id: str, *, lead: str = "MLII") -> Record:
        """One lead (by channel name) in mV and the `.atr` annotations of a record.

        Raises `MissingLead` if the record has no such channel, `ECGError` for a missing,
        truncated or unreadable file.
        """
        base = self.directory / record_id
        for ext in (".hea", ".dat", ".atr"):
            require_file(base.with_suffix(ext))
        return read_wfdb_lead(base, lead, annotator=self.annotator)

    def read_or_skip(self, record_id: str, *, lead: str, explicit: bool) -> Record | str:
        """The record, or, when it lacks `lead` and the user did not name it (`explicit`),
        the message saying that it is skipped: the one rule for a record without the lead."""
        try:
            return self.read(record_id, lead=lead)
        except MissingLead as err:
            if explicit:
                raise
            return f"{err}: skipped"

    def require_lead(self, record_ids: Iterable[str], lead: str) -> None:
        """`ECGError` when not one of the records has `lead` (from the headers alone), so a
        misspelt lead is one error, not a warning per skipped record."""
        ids = list(record_ids)
        for record_id in ids:
            if lead in read_header(self.directory / record_id).sig_name:
                return
        if ids:
            channels = ", ".join(read_header(self.directory / ids[0]).sig_name)
            raise ECGError(
                f"{self.directory}: no record has a {lead} lead (record {ids[0]}: {channels})"
            )

    def read_many(
        self, record_ids: Iterable[str], *, lead: str = "MLII", explicit: bool = False
    ) -> Iterator[Record]:
        """Read records in order. A record without `lead` is skipped with a warning, unless
        the user named the records (`explicit`), when it is an error."""
        for record_id in record_ids:
            record = self.read_or_skip(record_id, lead=lead, explicit=explicit)
            if isinstance(record, str):
                warnings.warn(record, stacklevel=2)
            else:
                yield record
