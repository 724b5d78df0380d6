"""The batch-scoring definition run locally: Model and Transform steps against moto, the real handlers.

The definition is the stack's own (``build_batch_scoring_definition``) with
literal resources; the version is registered in moto's registry with a real
XGBoost model whose artifact carries ``training/inference.py`` under ``code/``.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import xgboost as xgb
from sklearn.datasets import load_breast_cancer

from stacks.config import BATCH_SCORING_PREFIX, ENVIRONMENTS, BatchScoringConfig
from stacks.pipeline_definition import batch_scoring as b
from stacks.pipeline_definition import contract  # noqa: F401 - puts training/ on sys.path for smxgb
from tools.emulator import Emulator
from tools.pipeline_runner import PipelineError, RunOptions, S3Storage, run_definition
from tools.pipeline_runner.serving import load_handlers
from tools.pipeline_runner.tarballs import extract, pack
from tools.pipeline_runner.transform import TransformSettings, _BadRecord, _jsonpath_filter, mini_batches, score

CONFIG = ENVIRONMENTS["dev"]
RAW, MODELS = CONFIG.bucket_name("raw"), CONFIG.bucket_name("models")
GROUP = CONFIG.model_package_group_name
INPUT = f"s3://{RAW}/{BATCH_SCORING_PREFIX}/"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"


def resources(config: BatchScoringConfig = BatchScoringConfig()) -> b.BatchScoringResources:  # noqa: B008
    return b.BatchScoringResources(
        config=config, role_arn="arn:aws:iam::111122223333:role/mlp-dev-batch", subnet_ids=(),
        security_group_ids=(), model_key_arn="arn:aws:kms:us-east-1:111122223333:key/model",
        model_package_group_version_prefix=CONFIG.arn("sagemaker", f"model-package/{GROUP}"),
        raw_bucket=RAW, model_bucket=MODELS, prefix=BATCH_SCORING_PREFIX,
    )


def definition(config: BatchScoringConfig = BatchScoringConfig()) -> dict:  # noqa: B008
    return json.loads(json.dumps(b.build_batch_scoring_definition(resources(config))))


def model_artifact(scratch: Path) -> tuple[Path, np.ndarray]:
    """A real model on the breast-cancer features, packed as train.py packs it (handlers under code/)."""
    from smxgb import outputs

    features, labels = load_breast_cancer(return_X_y=True)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3}, xgb.DMatrix(features, label=labels), 10)
    model_dir = scratch / "model"
    outputs.save_model(booster, model_dir)
    outputs.package_serving_code(model_dir)
    return pack(model_dir, scratch / "model.tar.gz"), features


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """moto with the buckets, the group, an approved version 1 and a pending version 2."""
    scratch = tmp_path_factory.mktemp("transform")
    tarball, features = model_artifact(scratch)
    with Emulator(account_id=CONFIG.account, region=CONFIG.region) as emu:
        s3, sm = emu.client("s3"), emu.client("sagemaker")
        for bucket in (RAW, MODELS):
            s3.create_bucket(Bucket=bucket)
        s3.upload_file(str(tarball), MODELS, "training/run-1/output/model.tar.gz")
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        for status in ("Approved", "PendingManualApproval"):
            arn = sm.create_model_package(
                ModelPackageGroupName=GROUP, ModelApprovalStatus="PendingManualApproval",
                InferenceSpecification={
                    "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{MODELS}/training/run-1/output/model.tar.gz",
                                    "Environment": dict(contract.SERVING_ENVIRONMENT)}],
                    "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
            )["ModelPackageArn"]
            if status == "Approved":
                sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
        yield emu, features, scratch


def upload(emu: Emulator, key: str, text: str) -> None:
    emu.client("s3").put_object(Bucket=RAW, Key=f"{BATCH_SCORING_PREFIX}/{key}", Body=text.encode())


def clear_input(emu: Emulator) -> None:
    s3 = emu.client("s3")
    for item in s3.list_objects_v2(Bucket=RAW, Prefix=f"{BATCH_SCORING_PREFIX}/").get("Contents", []):
        s3.delete_object(Bucket=RAW, Key=item["Key"])


def run(emu: Emulator, scratch: Path, name: str, *, version: int = 1, config: BatchScoringConfig = BatchScoringConfig(),  # noqa: B008
        **parameters):
    return run_definition(
        definition(config), storage=S3Storage(emu.client("s3")), sagemaker=emu.client("sagemaker"),
        options=RunOptions(parameters={b.MODEL_PACKAGE_VERSION: version, **parameters}, execution_id=name),
        work_dir=scratch / name, account=CONFIG.account, region=CONFIG.region, log=lambda _: None,
    )


def csv_rows(features: np.ndarray, ids: list[str]) -> str:
    return "".join(f"{i}," + ",".join(repr(float(v)) for v in row) + "\n" for i, row in zip(ids, features, strict=True))


def direct_predictions(scratch: Path, body: str) -> list[str]:
    """The same handlers called directly, as the endpoint would answer the features."""
    model_dir = scratch / "direct"
    if not model_dir.is_dir():
        extract(scratch / "model.tar.gz", model_dir, step="test", field="model")
    handlers = load_handlers(model_dir)
    response, _ = handlers.transform_fn(handlers.model_fn(str(model_dir)), body, "text/csv", "text/csv")
    return response.decode().split()


# ------------------------------------------------------------------------- the run end to end


def test_every_row_is_scored_and_keeps_its_id_and_features(registry) -> None:
    emu, features, scratch = registry
    clear_input(emu)
    # GIVEN two input files whose row ids are not row numbers
    ids = [f"id-{7 * n + 3}" for n in range(len(features))]
    upload(emu, "part-a.csv", csv_rows(features[:300], ids[:300]))
    upload(emu, "nested/part-b.csv", csv_rows(features[300:], ids[300:]))
    # WHEN the pipeline scores them with approved version 1
    execution = run(emu, scratch, "scoreall")
    # THEN the model came from the version and every input file has its .out under the execution's prefix
    assert [s.status for s in execution.steps] == ["Succeeded", "Succeeded"]
    detail = execution.step(b.TRANSFORM_STEP).detail
    assert detail["outputs"] == [f"s3://{MODELS}/{BATCH_SCORING_PREFIX}/scoreall/nested/part-b.csv.out",
                                 f"s3://{MODELS}/{BATCH_SCORING_PREFIX}/scoreall/part-a.csv.out"]
    assert detail["records"] == len(features)
    storage = S3Storage(emu.client("s3"))
    lines = [line for uri in reversed(detail["outputs"]) for line in storage.read(uri).decode().splitlines()]
    # AND each line is <row_id>,<features...>,<prediction>, in input order, the prediction the handlers' own
    expected = direct_predictions(scratch, "".join(",".join(repr(float(v)) for v in row) + "\n" for row in features))
    assert [line.split(",")[0] for line in lines] == ids
    assert [line.rsplit(",", 1)[1] for line in lines] == expected
    assert all(len(line.split(",")) == 1 + features.shape[1] + 1 for line in lines)
    assert np.array([[float(v) for v in line.split(",")[1:-1]] for line in lines]).tolist() == features.tolist()


def test_small_mini_batches_give_the_same_output_in_more_requests(registry) -> None:
    emu, features, scratch = registry
    clear_input(emu)
    text = csv_rows(np.tile(features, (10, 1)), [str(n) for n in range(10 * len(features))])
    assert 1024 * 1024 < len(text) < 2 * 1024 * 1024
    upload(emu, "big.csv", text)
    one = run(emu, scratch, "onebatch")
    # WHEN the mini-batch is capped at 1 MB (the config's floor) with one request in flight
    small = run(emu, scratch, "smallbatch", config=BatchScoringConfig(max_payload_mb=1, max_concurrent_transforms=1))
    # THEN it takes more requests and yields the same bytes
    assert one.step(b.TRANSFORM_STEP).detail["requests"] == 1
    assert small.step(b.TRANSFORM_STEP).detail["requests"] == 2
    storage = S3Storage(emu.client("s3"))
    assert storage.read(one.step(b.TRANSFORM_STEP).detail["outputs"][0]) == storage.read(
        small.step(b.TRANSFORM_STEP).detail["outputs"][0])


# ------------------------------------------------------------------------- bad input: one line each


@pytest.mark.parametrize(
    ("version", "content", "message"),
    [
        (2, "1,2\n", r"^step CreateScoringModel: Arguments\.PrimaryContainer\.ModelPackageName: model package"
                     r" \S+/2 is PendingManualApproval, not Approved: .*approve it"),
        (9, "1,2\n", r"^step CreateScoringModel: .*model package \S+/9 cannot be read .*registered version"),
        (1, None, r"^step ScoreBatch: Arguments\.TransformInput\.DataSource\.S3DataSource\.S3Uri: no objects under"
                  r" s3://\S+/batch-scoring/; upload the CSV to score there"),
        (1, "r1,{row}\nr2,{row},7\nr3,{row}\n",
         r"^step ScoreBatch: Arguments\.TransformInput: s3://\S+/batch-scoring/rows\.csv line 2: each row must"
         r" have 30 features \(no label column\), got 31$"),
        (1, "r1,{row}\nr2,{row}\n\nr3,{row}\n",
         r"^step ScoreBatch: .*rows\.csv line 3: the record is empty; every line must hold one record$"),
        (1, "r1,{row}\nr2\n", r"^step ScoreBatch: .*rows\.csv line 2: the record is empty after InputFilter"),
        (1, "r1,{row}\nr2,{word}\n", r"^step ScoreBatch: .*rows\.csv line 2: the CSV body is not numeric"),
    ],
    ids=["unapproved", "unknown-version", "missing-input", "extra-column", "blank-line", "id-only", "not-numeric"],
)
def test_bad_input_fails_in_one_line_naming_the_step_and_the_fix(registry, version, content, message) -> None:
    emu, features, scratch = registry
    clear_input(emu)
    row = ",".join(repr(float(v)) for v in features[0])
    if content is not None:
        upload(emu, "rows.csv", content.format(row=row, word=row.replace(row.split(",")[4], "abc", 1)))
    with pytest.raises(PipelineError, match=message) as raised:
        run(emu, scratch, f"bad-{version}-{abs(hash(content)) % 10**6}", version=version)
    assert "\n" not in str(raised.value)
    # AND nothing was written for a run that failed
    listed = emu.client("s3").list_objects_v2(Bucket=MODELS, Prefix=f"{BATCH_SCORING_PREFIX}/bad-")
    assert listed.get("KeyCount", 0) == 0


# ------------------------------------------------------------------------- the semantics, piece by piece


def settings(**changes) -> TransformSettings:
    base = TransformSettings(multi_record=True, max_payload_bytes=100, concurrency=1,
                             content_type="text/csv", accept="text/csv", gzip_input=False, input_filter=None,
                             output_filter=None, join_input=True)
    return replace(base, **changes)


def test_multi_record_packs_whole_records_up_to_the_payload_and_never_splits_one() -> None:
    # sizes + 1 newline each: 50+1 and 48+1 fill 100 exactly; 10+1 and 80+1 fit the next; 9 starts a third
    assert mini_batches([50, 48, 10, 80, 9], settings()) == [(0, 2), (2, 4), (4, 5)]
    assert mini_batches([99], settings()) == [(0, 1)]
    with pytest.raises(_BadRecord, match=r"line 2: the record is 100 bytes, over MaxPayloadInMB"):
        mini_batches([5, 100], settings())
    assert mini_batches([50, 48, 10], settings(multi_record=False)) == [(0, 1), (1, 2), (2, 3)]


@pytest.mark.parametrize(
    ("expression", "record", "expected"),
    [("$[1:]", b"id,1,2", b"1,2"), ("$[0]", b"id,1,2", b"id"), ("$[-1]", b"id,1,2", b"2"),
     ("$[0:2]", b"id,1,2", b"id,1"), ("$[0,2]", b"id,1,2", b"id,2"), ("$[:-1]", b"id,1,2", b"id,1")],
)
def test_csv_filters_pick_columns_as_jsonpath_on_the_record(expression, record, expected) -> None:
    assert _jsonpath_filter("S", "InputFilter", expression)(record) == expected


def test_an_unsupported_filter_is_refused_naming_it() -> None:
    assert _jsonpath_filter("S", "InputFilter", "$") is None
    with pytest.raises(PipelineError, match=r"step S: Arguments\.DataProcessing\.OutputFilter: '\$\.features'"):
        _jsonpath_filter("S", "OutputFilter", "$.features")


class _Echo:
    """Handlers that answer each record with its first field doubled: shows what reaches them."""

    seen: list[str] = []

    @staticmethod
    def transform_fn(model, body, content_type, accept):
        _Echo.seen.append(body)
        return "".join(f"{line.split(',')[0]}{line.split(',')[0]}\n" for line in body.split("\n")).encode(), accept


def test_the_filter_hides_the_row_id_from_the_handlers_and_the_join_brings_it_back() -> None:
    _Echo.seen = []
    with ThreadPoolExecutor(2) as pool:
        scored, requests = score(b"a,1,2\r\nb,3,4\nc,5,6\n", settings(input_filter=lambda r: r.partition(b",")[2],
                                                                        max_payload_bytes=8), _Echo, None, pool)
    assert _Echo.seen == ["1,2\n3,4", "5,6"] and requests == 2
    assert scored.output == b"a,1,2,11\nb,3,4,33\nc,5,6,55\n"
    with ThreadPoolExecutor(1) as pool:
        assert score(b"a,1\n", settings(join_input=False), _Echo, None, pool)[0].output == b"aa\n"
        filtered = settings(output_filter=_jsonpath_filter("S", "OutputFilter", "$[0,-1]"))
        assert score(b"a,1,2\n", filtered, _Echo, None, pool)[0].output == b"a,aa\n"


def test_gzip_input_is_decompressed_and_a_bad_gzip_named() -> None:
    import gzip

    with ThreadPoolExecutor(1) as pool:
        assert score(gzip.compress(b"a,1\n"), settings(gzip_input=True), _Echo, None, pool)[0].output == b"a,1,aa\n"
        with pytest.raises(_BadRecord, match=r"x\.csv\.gz is not gzip"):
            score(b"a,1\n", settings(gzip_input=True), _Echo, None, pool, gzip_name="x.csv.gz")
