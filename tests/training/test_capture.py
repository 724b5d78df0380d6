"""smxgb.capture: SageMaker data-capture lines back into the rows the endpoint scored."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from smxgb import capture


def _lines(*records):
    return [("cap.jsonl", i, text) for i, text in enumerate(records, start=1)]


def _record(data, content_type, encoding, **metadata):
    return json.dumps({
        "captureData": {"endpointInput": {"observedContentType": content_type, "mode": "INPUT",
                                          "data": data, "encoding": encoding}},
        "eventMetadata": {"eventId": "e", **metadata}, "eventVersion": "0",
    })


def test_csv_json_and_base64_requests_become_one_matrix_with_row_ids():
    # GIVEN one request of each encoding the capture writes
    npy = base64.b64encode(json.dumps([[7, 8]]).encode()).decode()
    rows = capture.read_lines(_lines(
        capture.capture_record("1,2\n3,4", event_id="a"),
        capture.capture_record("5,6", event_id="b", inference_id="order-17"),
        _record(json.dumps({"instances": [[9, 10]]}), "application/json", "JSON", eventId="c"),
        _record(npy, "application/json", "BASE64", eventId="d"),
    ))
    # THEN every row, in order of encoding kind, keeps the id a client can join labels on
    np.testing.assert_array_equal(rows.features, [[1, 2], [3, 4], [5, 6], [9, 10], [7, 8]])
    assert rows.row_ids == ["a#0", "a#1", "order-17", "c", "d"]
    assert rows.requests == 4


def test_empty_fields_are_missing_values():
    rows = capture.read_lines(_lines(capture.capture_record("1,,3", event_id="a")))
    assert np.isnan(rows.features[0, 1])


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", r"^cap.jsonl:1: not a SageMaker data-capture record"),
     (json.dumps({"captureData": {}}), r"^cap.jsonl:1: not a SageMaker data-capture record .*CaptureOptions Input"),
     (_record("[[1, 2", "application/json", "JSON"), r"^cap.jsonl:1: the captured request is not readable")],
)
def test_an_unreadable_line_names_its_file_and_line(text, message):
    with pytest.raises(capture.CaptureError, match=message):
        capture.read_lines(_lines(text))


def test_requests_of_different_widths_are_refused():
    with pytest.raises(capture.CaptureError, match=r"\[2, 3\] features; one model version has one width"):
        capture.read_lines(_lines(capture.capture_record("1,2", event_id="a"),
                                  _record("[[1, 2, 3]]", "application/json", "JSON")))


def test_files_are_read_in_time_order(tmp_path):
    for hour, value in (("11", "2,2"), ("09", "1,1")):
        folder = tmp_path / "ep" / "AllTraffic" / "2026" / "12" / "02" / hour
        folder.mkdir(parents=True)
        (folder / "x.jsonl").write_text(capture.capture_record(value, event_id=hour) + "\n")
    rows = capture.read_files(capture.capture_files(tmp_path))
    assert rows.row_ids == ["09", "11"]
