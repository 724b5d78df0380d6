"""Model and Transform steps: a model from a registered version, then batch transform through its handlers.

Model (a CreateModel request): the version named by ``ModelPackageName`` is
described in the registry and refused unless it is Approved, as SageMaker
refuses to deploy it; the model is created in the registry's service with the
request as written, and its container (image, artifact, environment) is kept
for the Transform steps that name it.

Transform (a CreateTransformJob request), as SageMaker runs one against the
XGBoost image: every object under the ``S3Prefix`` input is split into records
(``SplitType: Line``; ``\\r\\n`` too), each record filtered by ``InputFilter`` (CSV columns by
a JSONPath index, slice or list: ``$``, ``$[1:]``, ``$[0,2]``, ``$[-1]``),
records packed into requests of at most ``MaxPayloadInMB`` (``MultiRecord``) or
sent one by one (``SingleRecord``), each request handed to the artifact's own
``transform_fn`` (``code/inference.py``, loaded once per job like the model
server's ``model_fn``) with ``MaxConcurrentTransforms`` requests in flight and
the container's and the job's ``Environment`` set, every response line joined
to its original input record (``JoinSource: Input``: ``<input>,<output>``),
``OutputFilter`` applied to the joined record, and the lines assembled into
``<S3OutputPath>/<input key below the prefix>.out``.

Not emulated: several instances (each would take a share of the objects),
``ManifestFile`` inputs, RecordIO/TFRecord splitting, JSON input or output
filters on JSON records, retries (``ModelClientConfig``), data capture.
"""

from __future__ import annotations

import gzip
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tools.pipeline_runner.base import StepOutcome, Workspace, job_name
from tools.pipeline_runner.errors import PipelineError
from tools.pipeline_runner.serving import load_handlers
from tools.pipeline_runner.storage import split_uri
from tools.pipeline_runner.tarballs import extract

APPROVED = "Approved"
CSV = "text/csv"
MIB = 1024 * 1024
#: SageMaker's default when a job sets no MaxPayloadInMB.
DEFAULT_MAX_PAYLOAD_MB = 6
_INDEX = re.compile(r"^\$\[\s*(-?\d+)?\s*(:)?\s*(-?\d+)?\s*\]$")
_LIST = re.compile(r"^\$\[\s*-?\d+(\s*,\s*-?\d+)+\s*\]$")
DROP_FIRST_COLUMN = "$[1:]"


def _drop_first_column(record: bytes) -> bytes:
    return record.partition(b",")[2]


# ---------------------------------------------------------------------------------- Model


def run_model_step(step: dict, args: dict, ws: Workspace) -> StepOutcome:
    name = step["Name"]
    if ws.sagemaker is None:
        raise PipelineError("no model registry to read the version from (run against the emulator)", step=name)
    containers = [args["PrimaryContainer"]] if "PrimaryContainer" in args else args.get("Containers", [])
    if len(containers) != 1:
        raise PipelineError(f"{len(containers)} containers: one container is supported locally", step=name,
                            field="Arguments.PrimaryContainer")
    container, field = dict(containers[0]), "Arguments.PrimaryContainer"
    if "ModelPackageName" in container:
        container = {**_approved_version(name, container["ModelPackageName"], ws), **container}
    elif "ModelDataUrl" not in container:
        raise PipelineError("neither ModelPackageName nor ModelDataUrl: nothing to serve", step=name, field=field)
    model_name = job_name(ws.execution_id, name)
    try:
        ws.sagemaker.create_model(ModelName=model_name, **args)
        arn = ws.sagemaker.describe_model(ModelName=model_name)["ModelArn"]
    except Exception as exc:  # noqa: BLE001 - botocore validation and service errors alike
        raise PipelineError(f"CreateModel failed: {exc}", step=name, field="Arguments") from None
    ws.models[model_name] = container
    properties = {**args, "ModelName": model_name, "ModelArn": arn}
    detail = {"model_name": model_name, "model_package": container.get("ModelPackageName"),
              "model_data_url": container.get("ModelDataUrl"), "network_isolation": args.get("EnableNetworkIsolation")}
    return StepOutcome(properties, {}, detail)


def _approved_version(step: str, package: str, ws: Workspace) -> dict:
    """The version's container (image, artifact, environment), refused unless Approved."""
    field = "Arguments.PrimaryContainer.ModelPackageName"
    try:
        described = ws.sagemaker.describe_model_package(ModelPackageName=package)
    except Exception as exc:  # noqa: BLE001 - ValidationException for an unknown version
        raise PipelineError(f"model package {package} cannot be read ({_reason(exc)}); pass the number of a"
                            " registered version (ModelPackageVersion=N)", step=step, field=field) from None
    status = described.get("ModelApprovalStatus")
    if status != APPROVED:
        raise PipelineError(
            f"model package {package} is {status}, not {APPROVED}: SageMaker creates models only from approved"
            " versions; approve it (aws sagemaker update-model-package --model-approval-status Approved) or pass"
            " an approved version", step=step, field=field)
    containers = described.get("InferenceSpecification", {}).get("Containers", [])
    if len(containers) != 1 or "ModelDataUrl" not in containers[0]:
        raise PipelineError(f"model package {package} has no single container with a ModelDataUrl", step=step,
                            field=field)
    return {k: v for k, v in containers[0].items() if k in ("Image", "ModelDataUrl", "Environment")}


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split())


# ---------------------------------------------------------------------------------- Transform


@dataclass(frozen=True)
class TransformSettings:
    """What a transform job's request says about splitting, batching, filtering and joining."""

    multi_record: bool
    max_payload_bytes: int
    concurrency: int
    content_type: str
    accept: str
    gzip_input: bool
    input_filter: Callable[[bytes], bytes] | None
    output_filter: Callable[[bytes], bytes] | None
    join_input: bool

    @classmethod
    def from_request(cls, step: str, args: dict) -> TransformSettings:
        source = args["TransformInput"]["DataSource"]["S3DataSource"]
        if source.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise PipelineError(f"S3DataType {source['S3DataType']!r}: only S3Prefix is supported locally",
                                step=step, field="Arguments.TransformInput.DataSource.S3DataSource.S3DataType")
        transform_input, output = args["TransformInput"], args["TransformOutput"]
        split = transform_input.get("SplitType", "None")
        if split != "Line":
            raise PipelineError(f"SplitType {split!r}: only Line (one CSV record per line) is supported locally",
                                step=step, field="Arguments.TransformInput.SplitType")
        content_type = transform_input.get("ContentType", CSV)
        processing = args.get("DataProcessing", {})
        filters = {key: _jsonpath_filter(step, key, processing.get(key)) for key in ("InputFilter", "OutputFilter")}
        if content_type.split(";")[0].strip() != CSV and any(filters.values()):
            raise PipelineError(f"filters on {content_type!r} records: only CSV records are filtered locally",
                                step=step, field="Arguments.DataProcessing")
        if output.get("AssembleWith", "None") not in ("Line", "None"):
            raise PipelineError(f"AssembleWith {output['AssembleWith']!r} is not Line or None", step=step,
                                field="Arguments.TransformOutput.AssembleWith")
        payload_mb = int(args.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB))
        concurrency = int(args.get("MaxConcurrentTransforms") or 1)
        if payload_mb < 1 or payload_mb * concurrency > 100:
            raise PipelineError(f"MaxPayloadInMB {payload_mb} x MaxConcurrentTransforms {concurrency} must be"
                                " 1-100 MB (SageMaker refuses the job)", step=step, field="Arguments.MaxPayloadInMB")
        return cls(
            multi_record=args.get("BatchStrategy", "MultiRecord") == "MultiRecord",
            max_payload_bytes=payload_mb * MIB,
            concurrency=concurrency,
            content_type=content_type,
            accept=output.get("Accept", CSV),
            gzip_input=transform_input.get("CompressionType", "None") == "Gzip",
            input_filter=filters["InputFilter"],
            output_filter=filters["OutputFilter"],
            join_input=processing.get("JoinSource", "None") == "Input",
        )


def _jsonpath_filter(step: str, key: str, expression: str | None) -> Callable[[bytes], bytes] | None:
    """A CSV record's columns picked by the JSONPath subset SageMaker documents for CSV: ``$``, index, slice, list."""
    if expression is None or expression.strip() == "$":
        return None
    text = expression.strip()
    if text == DROP_FIRST_COLUMN:  # the row-id case, the fastest way Python has
        return _drop_first_column
    match = _INDEX.match(text)
    if match and (match.group(1) or match.group(2) or match.group(3)):
        start, colon, stop = match.groups()
        if colon:
            picked = slice(int(start) if start else None, int(stop) if stop else None)
            return lambda record: b",".join(record.split(b",")[picked])
        index = int(start)
        return lambda record: record.split(b",")[index]
    if _LIST.match(text):
        indices = [int(i) for i in text[2:-1].split(",")]
        return lambda record: b",".join(record.split(b",")[i] for i in indices)
    raise PipelineError(f"{expression!r} is not a JSONPath the local runner applies to CSV records ($, $[i], $[i:j],"
                        " $[i,j,...])", step=step, field=f"Arguments.DataProcessing.{key}")


class _BadRecord(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")


def run_transform_step(step: dict, args: dict, ws: Workspace) -> StepOutcome:
    name = step["Name"]
    settings = TransformSettings.from_request(name, args)
    count = int(args.get("TransformResources", {}).get("InstanceCount", 1))
    if count != 1:
        raise PipelineError(f"InstanceCount {count}: one transform instance is supported locally", step=name,
                            field="Arguments.TransformResources.InstanceCount")
    model_name = args.get("ModelName")
    container = ws.models.get(model_name)
    if container is None:
        raise PipelineError(f"model {model_name!r} was not created by a Model step of this run", step=name,
                            field="Arguments.ModelName")
    input_uri = args["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"]
    bucket, prefix = split_uri(input_uri)
    keys = [k for k in ws.storage.list_keys(bucket, prefix) if not k.endswith("/")]
    if not keys:
        raise PipelineError(f"no objects under {input_uri}; upload the CSV to score there (no header, row id"
                            " first) or pass another InputDataUri", step=name,
                            field="Arguments.TransformInput.DataSource.S3DataSource.S3Uri")
    output_uri = args["TransformOutput"]["S3OutputPath"].rstrip("/")
    environment = {**container.get("Environment", {}), **args.get("Environment", {})}
    started = time.perf_counter()
    root = ws.work_dir / name
    root.mkdir(parents=True, exist_ok=True)
    handlers, model = _load_model(name, container["ModelDataUrl"], ws, root, environment)
    records = requests = 0
    written = []
    with _environment(environment), ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
        for key in keys:
            local = root / "input" / key.rsplit("/", 1)[-1]
            local.parent.mkdir(parents=True, exist_ok=True)
            ws.storage.get(bucket, key, local)
            data = local.read_bytes()
            relative = key[len(prefix):].lstrip("/") or key.rsplit("/", 1)[-1]
            try:
                scored, batches = score(data, settings, handlers, model, pool, gzip_name=relative)
            except _BadRecord as exc:
                raise PipelineError(f"{input_uri.rstrip('/')}/{relative} {exc}", step=name,
                                    field="Arguments.TransformInput") from None
            out = root / "output" / f"{relative}.out"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(scored.output)
            written.append(ws.storage.upload_file(out, f"{output_uri}/{relative}.out"))
            records, requests = records + scored.records, requests + batches
    seconds = time.perf_counter() - started
    properties = {**args, "TransformJobName": job_name(ws.execution_id, name),
                  "TransformJobArn": ws.arn("transform-job", job_name(ws.execution_id, name)),
                  "TransformJobStatus": "Completed"}
    detail = {"model_name": model_name, "inputs": [f"s3://{bucket}/{k}" for k in keys], "outputs": written,
              "records": records, "requests": requests, "job_seconds": seconds,
              "rows_per_second": records / seconds if seconds else None}
    ws.log(f"      {name}: {records} records in {requests} requests ({settings.concurrency} in flight)")
    return StepOutcome(properties, {}, detail)


def _load_model(step: str, model_data_url: str, ws: Workspace, root: Path, environment: dict) -> tuple[Any, Any]:
    """``model_fn`` once per job, as the model server calls it before the first request."""
    tarball = root / "model.tar.gz"
    try:
        ws.storage.get(*split_uri(model_data_url), tarball)
    except Exception as exc:  # noqa: BLE001 - a missing object from S3 or a directory
        raise PipelineError(f"{model_data_url} cannot be read ({_reason(exc)})", step=step,
                            field="ModelDataUrl") from None
    model_dir = root / "model"
    extract(tarball, model_dir, step=step, field="ModelDataUrl")
    handlers = load_handlers(model_dir, step=step)
    with _environment(environment):
        return handlers, handlers.model_fn(str(model_dir))


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """The container's environment around the handlers (they read their limits from it)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: str(v) for k, v in values.items()})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True)
class Scored:
    output: bytes
    records: int


def mini_batches(sizes: Sequence[int], settings: TransformSettings) -> list[tuple[int, int]]:
    """``(start, stop)`` of each request: as many whole records as fit in MaxPayloadInMB (MultiRecord), or one.

    A request's size counts each record with its newline.
    """
    if not settings.multi_record:
        return [(i, i + 1) for i in range(len(sizes))]
    lengths = np.asarray(sizes, dtype=np.int64) + 1
    too_large = np.flatnonzero(lengths > settings.max_payload_bytes)
    if too_large.size:
        index = int(too_large[0])
        raise _BadRecord(index + 1, f"the record is {int(lengths[index]) - 1} bytes, over MaxPayloadInMB"
                                    f" ({settings.max_payload_bytes // MIB} MB); split it or raise MaxPayloadInMB")
    ends = np.cumsum(lengths)
    batches, start, used = [], 0, 0
    while start < len(lengths):
        # The last record whose running total stays within this request's budget.
        stop = int(np.searchsorted(ends, used + settings.max_payload_bytes, side="right"))
        batches.append((start, stop))
        start, used = stop, int(ends[stop - 1])
    return batches


def _lines(data: bytes) -> bytes:
    """The object as newline-terminated lines (``\\r\\n`` read as ``\\n``)."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    return data if data.endswith(b"\n") or not data else data + b"\n"


def score(data: bytes, settings: TransformSettings, handlers, model, pool: ThreadPoolExecutor,
          *, gzip_name: str = "") -> tuple[Scored, int]:
    """One input object through the handlers: ``(joined output, number of requests)``.

    Measured per 60,000 lines of 30 features (``python -m bench.batch``): each
    step is one C-level pass or a ``map`` over the lines; a regex or a numpy mask
    over the whole object for the filter was 3x slower than ``bytes.partition``.
    """
    if settings.gzip_input:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise _BadRecord(0, f"{gzip_name} is not gzip ({exc}); set CompressionType None") from None
    records = _lines(data).split(b"\n")[:-1]
    if not records:
        return Scored(b"", 0), 0
    if settings.input_filter is _drop_first_column:  # inline: a call per record costs a third more
        sent = [r.partition(b",")[2] for r in records]
    else:
        sent = records if settings.input_filter is None else list(map(settings.input_filter, records))
    if not all(sent):  # whitespace-only records reach the handlers, which name them
        empty = sent.index(b"")
        what = "empty" if not records[empty] else "empty after InputFilter (no features after the row id?)"
        raise _BadRecord(empty + 1, f"the record is {what}; every line must hold one record")
    batches = mini_batches(np.fromiter(map(len, sent), dtype=np.int64, count=len(sent)), settings)

    def request(bounds: tuple[int, int]) -> list[bytes]:
        start, stop = bounds
        return _predict(b"\n".join(sent[start:stop]), start, stop, settings, handlers, model, sent)

    chunks = []
    for (start, stop), predictions in zip(batches, pool.map(request, batches), strict=True):
        lines = predictions
        if settings.join_input:  # _predict checked one prediction per record, so the pairs line up
            lines = map(b",".join, zip(records[start:stop], predictions, strict=True))
        if settings.output_filter is not None:
            lines = map(settings.output_filter, lines)
        chunks.append(b"\n".join(lines))  # CSV join: "<input record>,<output>"
    return Scored(b"\n".join(chunks) + b"\n", len(records)), len(batches)


def _predict(body: bytes, start: int, stop: int, settings: TransformSettings, handlers, model,
             sent: list[bytes]) -> list[bytes]:
    try:
        # The inference toolkit hands a CSV body over as str, as it does for real-time requests.
        response, _ = handlers.transform_fn(model, body.decode("utf-8", errors="replace"), settings.content_type,
                                            settings.accept)
    except Exception as exc:  # noqa: BLE001 - the handlers' 4xx errors; find the record to name
        raise _BadRecord(*_first_bad_record(sent, start, stop, settings, handlers, model, exc)) from None
    predictions = (response if isinstance(response, bytes) else bytes(response)).split(b"\n")
    if predictions and predictions[-1] == b"":
        predictions.pop()
    if len(predictions) != stop - start:
        raise _BadRecord(start + 1, f"the handlers answered {len(predictions)} lines for the {stop - start} records"
                                    f" of lines {start + 1}-{stop}; one prediction per record is needed to join")
    return predictions


def _first_bad_record(sent, start, stop, settings, handlers, model, error: Exception) -> tuple[int, str]:
    """The first record of a failed request that fails alone, and the handlers' reason."""
    for index in range(start, stop):
        try:
            handlers.transform_fn(model, sent[index].decode("utf-8", errors="replace"), settings.content_type,
                                  settings.accept)
        except Exception as exc:  # noqa: BLE001
            return index + 1, _reason(exc)
    return start + 1, f"lines {start + 1}-{stop} failed together: {_reason(error)}"
