"""Read what an endpoint scored from SageMaker's data-capture files.

A real-time endpoint with data capture writes JSON Lines under
``<destination>/<endpoint>/<variant>/yyyy/mm/dd/hh/*.jsonl``, one line per
request::

    {"captureData": {"endpointInput": {"observedContentType": "text/csv",
                                       "mode": "INPUT", "data": "1.0,2.0", "encoding": "CSV"},
                     "endpointOutput": {...}},
     "eventMetadata": {"eventId": "...", "inferenceId": "...", "inferenceTime": "..."},
     "eventVersion": "0"}

``encoding`` is ``CSV`` or ``JSON`` for the content types the capture config
lists, ``BASE64`` otherwise. Requests are decoded by the endpoint's own
decoder (:func:`smxgb.serving.decode`), so the monitor reads exactly the
features the model scored; CSV captures, the common case, are parsed in one
pass for speed. Each row keeps an id: the request's ``inferenceId`` (what a
client passes to join ground truth) or else its ``eventId``, with ``#<n>`` for
the n-th row of a multi-row request. The response (``endpointOutput``) gives
each row's prediction when it holds one number per row, which is what the
quality check joins with ground truth.

Batch scoring writes ``<row_id>,<features...>,<prediction>`` CSV lines (no
header, ``.out`` as a transform job names them, or ``.csv``); the row id is the
first column. :func:`in_window` keeps the capture files of the hours a
scheduled run covers (SageMaker writes them under ``yyyy/mm/dd/hh/``).
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from smxgb import serving

CAPTURE_SUFFIX = ".jsonl"
#: What batch scoring writes: a transform job names its outputs ``<input>.out``.
BATCH_SUFFIXES = (".out", ".csv")


class CaptureError(ValueError):
    """A capture line that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class CapturedRows:
    features: np.ndarray  # (rows, features) float64, NaN for missing
    row_ids: list[str]
    requests: int
    #: One prediction per row (NaN where the response did not hold one number per row).
    predictions: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.predictions is None:
            object.__setattr__(self, "predictions", np.full(len(self.row_ids), np.nan))


def _row_ids(metadata: dict, rows: int) -> list[str]:
    base = metadata.get("inferenceId") or metadata.get("eventId") or ""
    return [base] if rows == 1 else [f"{base}#{i}" for i in range(rows)]


def _payload(record: dict) -> tuple[str, str, str]:
    data = record["captureData"]["endpointInput"]
    return data["observedContentType"], data["encoding"], data["data"]


def _output_values(record: dict) -> str:
    """The response as whitespace-separated numbers, or "" when it is not CSV text."""
    output = record["captureData"].get("endpointOutput") or {}
    if output.get("encoding") != "CSV":
        return ""
    return output.get("data", "").replace(",", " ")


def _predictions(outputs: list[tuple[str, int]]) -> np.ndarray:
    """One float per row from each request's response; NaN for a response of another shape."""
    if not outputs:
        return np.empty(0)
    tokens = [text.split() for text, _ in outputs]
    if all(len(t) == rows for t, (_, rows) in zip(tokens, outputs, strict=True)):
        try:  # the common case, parsed in one pass: every response holds one number per row
            return np.array([v for t in tokens for v in t], dtype=np.float64)
        except ValueError:
            pass
    parts = []
    for text, rows in outputs:
        try:
            values = np.array(text.split(), dtype=np.float64)
        except ValueError:
            values = np.empty(0)
        parts.append(values if values.size == rows else np.full(rows, np.nan))
    return np.concatenate(parts) if parts else np.empty(0)


def read_lines(lines: Iterable[tuple[str, int, str]], *, limits: serving.Limits | None = None) -> CapturedRows:
    """Rows from ``(source, line number, text)`` triples of capture files."""
    limits = limits or serving.Limits(max_payload_bytes=100 * 1024 * 1024, max_rows=10**7,
                                      nan_policy=serving.NAN_POLICY_MISSING)
    csv_chunks: list[str] = []
    csv_ids: list[str] = []
    csv_outputs: list[tuple[str, int]] = []
    other: list[np.ndarray] = []
    other_ids: list[str] = []
    other_outputs: list[tuple[str, int]] = []
    requests = 0
    for source, number, text in lines:
        if not text.strip():
            continue
        try:
            record = json.loads(text)
            content_type, encoding, data = _payload(record)
            metadata = record.get("eventMetadata", {})
        except (ValueError, KeyError, TypeError) as exc:
            raise CaptureError(f"{source}:{number}: not a SageMaker data-capture record with an endpoint input"
                               f" ({type(exc).__name__}: {exc}); capture with CaptureOptions Input") from exc
        requests += 1
        if encoding == "CSV" and serving.media_type(content_type) == serving.CSV:
            chunk = data.strip("\n")
            rows = chunk.count("\n") + 1
            csv_chunks.append(chunk)
            csv_ids.extend(_row_ids(metadata, rows))
            csv_outputs.append((_output_values(record), rows))
            continue
        body = base64.b64decode(data) if encoding == "BASE64" else data.encode("utf-8")
        try:
            matrix = serving.decode(body, content_type, limits)
        except serving.RequestError as exc:
            raise CaptureError(f"{source}:{number}: the captured request is not readable: {exc.message}") from exc
        other.append(matrix.astype(np.float64))
        other_ids.extend(_row_ids(metadata, matrix.shape[0]))
        other_outputs.append((_output_values(record), matrix.shape[0]))
    parts = []
    if csv_chunks:
        parts.append(_parse_csv("\n".join(csv_chunks)))
    parts.extend(other)
    if not parts:
        return CapturedRows(np.empty((0, 0)), [], requests)
    widths = {p.shape[1] for p in parts}
    if len(widths) > 1:
        raise CaptureError(f"captured requests have {sorted(widths)} features; one model version has one width")
    predictions = _predictions(csv_outputs + other_outputs)
    return CapturedRows(np.vstack(parts), csv_ids + other_ids, requests, predictions)


def _parse_csv(text: str) -> np.ndarray:
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=np.float64, engine="c")
    except (ValueError, pd.errors.ParserError) as exc:
        reason = " ".join(str(exc).split())
        raise CaptureError(f"captured CSV requests are not numeric rows of one width: {reason}") from exc
    return frame.to_numpy()


def capture_files(root: Path) -> list[Path]:
    """Every capture file under ``root``, in time order (the hour folders sort by time)."""
    return sorted(p for p in Path(root).rglob(f"*{CAPTURE_SUFFIX}") if p.is_file())


def batch_files(root: Path) -> list[Path]:
    """Every batch-scoring output under ``root`` (``<row_id>,<features...>,<prediction>`` lines)."""
    return sorted(p for p in Path(root).rglob("*") if p.is_file() and p.suffix in BATCH_SUFFIXES)


def capture_hour(path: Path) -> datetime | None:
    """The hour SageMaker filed a capture file under (``.../yyyy/mm/dd/hh/<file>``), or None."""
    try:
        year, month, day, hour = (int(part) for part in path.parent.parts[-4:])
        return datetime(year, month, day, hour)
    except (TypeError, ValueError):
        return None


def in_window(paths: Iterable[Path], end: datetime, hours: int) -> list[Path]:
    """The files of the ``hours`` whole hours before ``end`` (naive UTC); files outside an hour folder stay."""
    start = end.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    kept = []
    for path in paths:
        hour = capture_hour(path)
        if hour is None or start <= hour < end:
            kept.append(path)
    return kept


def read_batch_files(paths: Iterable[Path]) -> CapturedRows:
    """Rows of batch-scoring outputs: the first column is the row id, the last the prediction."""
    import pandas as pd

    frames = []
    for path in paths:
        if path.stat().st_size == 0:
            continue
        try:
            frame = pd.read_csv(path, header=None, dtype={0: str}, engine="c")
        except (ValueError, pd.errors.ParserError) as exc:
            reason = " ".join(str(exc).split())
            raise CaptureError(f"{path}: not batch-scoring lines <row_id>,<features...>,<prediction>: {reason}") \
                from exc
        if frame.shape[1] < 3:
            raise CaptureError(f"{path}: {frame.shape[1]} columns; batch scoring writes <row_id>,<features...>,"
                               "<prediction> (at least 3)")
        frames.append(frame)
    if not frames:
        return CapturedRows(np.empty((0, 0)), [], 0)
    widths = {f.shape[1] for f in frames}
    if len(widths) > 1:
        raise CaptureError(f"batch-scoring files have {sorted(w - 2 for w in widths)} features; one model version"
                           " has one width")
    frame = pd.concat(frames, ignore_index=True)
    try:
        values = frame.iloc[:, 1:].to_numpy(dtype=np.float64)
    except ValueError as exc:
        raise CaptureError(f"batch-scoring features or predictions are not numeric: {exc}") from exc
    return CapturedRows(values[:, :-1], frame.iloc[:, 0].astype(str).tolist(), len(frame), values[:, -1])


def combine(parts: list[CapturedRows]) -> CapturedRows:
    """Captured and batch-scored rows together (one model version has one width)."""
    parts = [p for p in parts if p.features.size]
    if not parts:
        return CapturedRows(np.empty((0, 0)), [], 0)
    widths = {p.features.shape[1] for p in parts}
    if len(widths) > 1:
        raise CaptureError(f"captured and batch-scored rows have {sorted(widths)} features; one model version"
                           " has one width")
    return CapturedRows(np.vstack([p.features for p in parts]), [i for p in parts for i in p.row_ids],
                        sum(p.requests for p in parts), np.concatenate([p.predictions for p in parts]))


def read_files(paths: Iterable[Path]) -> CapturedRows:
    def lines():
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                for number, text in enumerate(handle, start=1):
                    yield str(path), number, text

    return read_lines(lines())


def capture_record(row_csv: str, *, event_id: str, inference_id: str | None = None,
                   inference_time: str = "1970-01-01T00:00:00Z", output: str = "") -> str:
    """One capture line as SageMaker writes it for a CSV request (the demo and tests write traffic with it)."""
    metadata = {"eventId": event_id, "inferenceTime": inference_time}
    if inference_id:
        metadata["inferenceId"] = inference_id
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": serving.CSV, "mode": "INPUT", "data": row_csv,
                              "encoding": "CSV"},
            "endpointOutput": {"observedContentType": serving.CSV, "mode": "OUTPUT", "data": output,
                               "encoding": "CSV"},
        },
        "eventMetadata": metadata,
        "eventVersion": "0",
    })
