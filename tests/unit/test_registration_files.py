"""Reading flow files: whole-file faults refuse the file, line faults only reject their line."""

from __future__ import annotations

import pytest

from recouvrement.adapters.files.registration_files import (
    FileFormat,
    file_sha256,
    read_registration_file,
)
from recouvrement.domain.errors import DomainError

HEADER = "record_id;action;effective_date;kind;name"


def refusal(data: bytes, name: str = "f.csv", **kw) -> tuple[str, str, str]:
    with pytest.raises(DomainError) as err:
        read_registration_file(data, name, **kw)
    p = err.value.problems[0]
    return p.field, p.code, p.reason


def test_csv_delimiter_is_sniffed_and_lines_are_numbered_from_the_header():
    text = HEADER + "\nR1;change;2026-01-01;employer;A\n\nR2;change;2026-01-01;employer;B\n"
    flow = read_registration_file(text.encode(), "f.csv")
    assert flow.format is FileFormat.CSV
    assert [(r.line, r.values["name"]) for r in flow.records] == [(2, "A"), (4, "B")]
    comma = read_registration_file(text.replace(";", ",").encode(), "f.csv")
    assert [r.values for r in comma.records] == [r.values for r in flow.records]
    assert flow.sha256 == file_sha256(text.encode())


def test_a_quoted_field_may_hold_the_delimiter_and_a_newline():
    text = HEADER + '\nR1;change;2026-01-01;employer;"Dupont; fils\net cie"\nR2;change;;;\n'
    flow = read_registration_file(text.encode(), "f.csv")
    assert flow.records[0].values["name"] == "Dupont; fils\net cie"
    assert flow.records[1].line == 4


def test_header_names_are_trimmed_and_case_insensitive():
    flow = read_registration_file(b" Record_ID ;ACTION;effective_date;Kind\nR;change;;\n", "x")
    assert set(flow.records[0].values) == {"record_id", "action", "effective_date", "kind"}


def test_a_line_with_the_wrong_number_of_fields_is_a_line_reject():
    flow = read_registration_file((HEADER + "\nR1;change\n").encode(), "f.csv")
    (record,) = flow.records
    assert record.problem.code == "bad_columns" and record.values == {"raw": "R1;change"}


def test_jsonl_malformed_lines_are_line_rejects():
    data = b'{"record_id": "R1"}\n{oops\n[1]\n{"a": 1, "a": 2}\n{"x": NaN}\n{"x": "\\u0000"}\n'
    data += b'{"x": "\\ud800"}\n'
    flow = read_registration_file(data, "f.jsonl")
    assert flow.format is FileFormat.JSONL
    assert [(r.line, r.problem.code if r.problem else None) for r in flow.records] == [
        (1, None),
        (2, "bad_json"),
        (3, "not_an_object"),
        (4, "duplicate_field"),
        (5, "bad_json"),
        (6, "bad_json"),
        (7, "bad_json"),
    ]
    assert flow.records[1].values == {"raw": "{oops"}


def test_format_comes_from_the_option_then_the_extension_then_the_content():
    jsonl = b'{"record_id": "R1"}\n'
    assert read_registration_file(jsonl, "flux.txt").format is FileFormat.JSONL
    assert read_registration_file(jsonl, "flux.ndjson").format is FileFormat.JSONL
    csv_data = (HEADER + "\nR;change;;;\n").encode()
    assert read_registration_file(csv_data, "flux", file_format="CSV").format is FileFormat.CSV
    assert refusal(csv_data, file_format="xml")[:2] == ("format", "unknown_format")


def test_a_non_utf8_file_is_refused_naming_the_line_and_the_way_out():
    data = (HEADER + "\nR1;change;;;Léa\n").encode("latin-1")
    field, code, reason = refusal(data)
    assert (field, code) == ("file", "bad_encoding")
    assert "0xE9" in reason and "ligne 2" in reason and "--encoding latin-1" in reason
    flow = read_registration_file(data, "f.csv", encoding="latin-1")
    assert flow.records[0].values["name"] == "Léa"
    assert refusal(data, encoding="klingon")[:2] == ("encoding", "unknown_encoding")


def test_utf16_and_binary_files_are_refused_with_a_reason():
    assert refusal("record_id".encode("utf-16"))[1] == "bad_encoding"
    assert refusal(b"record_id;action\x00")[1] == "binary"


def test_a_bom_is_tolerated():
    flow = read_registration_file(b"\xef\xbb\xbf" + (HEADER + "\nR;change;;;\n").encode(), "f")
    assert "record_id" in flow.records[0].values


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty_file"),
        (b"\xef\xbb\xbf \n", "empty_file"),
        (HEADER.encode(), "no_records"),
        (b"record_id;action;kind\nR;change;employer\n", "bad_header"),
        (b"record_id;action;effective_date;kind;kind\nR;change;;;\n", "bad_header"),
        (b"record_id;action;effective_date;kind;;\nR;change;;;;\n", "bad_header"),
        ((HEADER + '\n"R1;change;;;\n').encode(), "bad_csv"),
    ],
)
def test_whole_file_faults_refuse_the_file(data, code):
    assert refusal(data)[1] == code


def test_the_header_refusal_names_each_fault():
    _, _, reason = refusal(b"record_id;action;sirett\nR;change;x\n")
    assert "'sirett'" in reason and "effective_date, kind" in reason
