"""training/ against the SageMaker XGBoost image's real toolkit, as the synthesized definition runs it.

GIVEN the image's Python environment (sagemaker-containers 2.8.6.post2 with the
Dockerfile's patch, xgboost 3.2.0, Flask/Werkzeug of the image's lock) and no
package index (a network-isolated job or endpoint has none), WHEN one tuning
trial of the synthesized Tune step runs through the image's ``train`` command and
its model.tar.gz is served by the image's single-model server with the registered
container's Environment, THEN training succeeds with the objective metric in its
log, and every request gets the answer the model package declares.
"""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xgboost as xgb

from tests.image import harness

CSV, JSON, PARQUET, NPY = "text/csv", "application/json", "application/x-parquet", "application/x-npy"
RECORDIO = "application/x-recordio-protobuf"


# ------------------------------------------------------------------ training


def test_trial_installs_the_code_offline_and_trains(trial: harness.TrainingRun) -> None:
    # THEN the toolkit's `pip install .` of the code channel needed no index, and train.py finished
    assert "InstallModuleError" not in trial.log, trial.log[-3000:]
    assert trial.process.returncode == 0, trial.log[-3000:]
    # (no success file: the image's training module exits before the toolkit would write one)
    assert not (trial.root / "output" / "failure").exists()


def test_trial_leaves_a_loadable_model_and_its_serving_code(trial: harness.TrainingRun) -> None:
    assert trial.process.returncode == 0, trial.log[-3000:]
    booster = xgb.Booster()
    booster.load_model(bytearray((trial.model_dir / "xgboost-model").read_bytes()))
    assert booster.num_features() == 30
    assert (trial.model_dir / "code" / "inference.py").is_file()


def test_the_definitions_objective_regex_matches_the_real_log(trial, tune_arguments) -> None:
    objective = tune_arguments["TrainingJobDefinitions"][0]["TuningObjective"]["MetricName"]
    (metric,) = [m for m in tune_arguments["TrainingJobDefinitions"][0]["AlgorithmSpecification"]["MetricDefinitions"]
                 if m["Name"] == objective]
    values = [float(v) for v in re.findall(metric["Regex"], trial.log)]
    assert values, f"{metric['Regex']!r} matches nothing in the trial's log:\n{trial.log[-3000:]}"
    assert 0.9 < values[-1] <= 1.0


def test_without_the_definitions_environment_the_trial_cannot_install_its_code(
        tmp_path, tune_arguments, breast_cancer_channels, code_file) -> None:
    # GIVEN the same trial, but with the Tune job definition's Environment taken away
    job = {key: value for key, value in tune_arguments["TrainingJobDefinitions"][0].items() if key != "Environment"}
    hyperparameters = harness.trial_hyperparameters(job, tune_arguments["HyperParameterTuningJobConfig"])
    harness.lay_out_training(tmp_path / "opt_ml", job, hyperparameters, breast_cancer_channels, code_file)
    # WHEN the image's toolkit runs it with no package index
    run = harness.run_training(tmp_path / "opt_ml", job, tmp_path / "overlay")
    # THEN pip's isolated build finds no setuptools and the job fails: nothing on disk stood in for the index
    assert run.process.returncode != 0
    assert re.search(r"No matching distribution found for setuptools", run.log), run.log[-3000:]
    assert (run.root / "output" / "failure").read_text().startswith("InstallModuleError")


# ------------------------------------------------------------------ serving


def _request(body: bytes | str, content_type: str | None = CSV, accept: str | None = None,
             path: str = "/invocations", method: str = "POST") -> dict:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if accept is not None:
        headers["Accept"] = accept
    data = body.encode() if isinstance(body, str) else body
    return {"method": method, "path": path, "headers": headers, "body_b64": base64.b64encode(data).decode()}


def _csv(rows: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


def _parquet(rows: np.ndarray) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({f"f{i}": rows[:, i] for i in range(rows.shape[1])}), sink)
    return sink.getvalue()


def _recordio(rows: np.ndarray) -> bytes:
    """SageMaker's RecordIO-protobuf as the SDK writes it, encoded by Google's protobuf."""
    from tests.training import recordio_proto

    sink = io.BytesIO()
    recordio_proto.write_numpy_to_dense_tensor(sink, np.asarray(rows, dtype=np.float32))
    return sink.getvalue()


def _npy(rows: np.ndarray) -> bytes:
    sink = io.BytesIO()
    np.save(sink, rows)
    return sink.getvalue()


@pytest.fixture(scope="module")
def rows(validation_features: np.ndarray) -> np.ndarray:
    return validation_features[:3]


@pytest.fixture(scope="module")
def cases(rows: np.ndarray) -> dict[str, dict]:
    """Every request the endpoint must answer, by name."""
    deep = "[" * 10_000 + "]" * 10_000
    return {
        "ping": _request(b"", None, path="/ping", method="GET"),
        "csv": _request(_csv(rows), CSV, CSV),
        "csv_charset": _request(_csv(rows), "text/csv; charset=utf-8", CSV),
        "json_instances": _request(json.dumps({"instances": rows.tolist()}), JSON, JSON),
        "json_features": _request(json.dumps({"instances": [{"features": r} for r in rows.tolist()]}), JSON, JSON),
        "parquet": _request(_parquet(rows), PARQUET, CSV),
        "npy": _request(_npy(rows), NPY, CSV),
        "recordio": _request(_recordio(rows), RECORDIO, CSV),
        "no_accept": _request(_csv(rows), CSV, None),
        "any_accept": _request(_csv(rows), CSV, "*/*"),
        "bad_body": _request("1,2,abc", CSV, CSV),
        "wrong_width": _request("1,2,3", CSV, CSV),
        "unsupported_type": _request("<rows/>", "application/xml", CSV),
        "unsupported_accept": _request(_csv(rows), CSV, "application/xml"),
        "huge_integer": _request('{"instances": [[' + "9" * 400 + "]]}", JSON, JSON),
        "deep_json": _request(deep, JSON, JSON),
        "empty": _request(b"", CSV, CSV),
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory, trial, registered_container, cases) -> dict[str, dict]:
    assert trial.process.returncode == 0, trial.log[-3000:]
    base = tmp_path_factory.mktemp("endpoint")
    tarball = harness.package_model(trial.model_dir, base / "model.tar.gz")
    result = harness.serve(base / "opt_ml", tarball, registered_container["Environment"],
                           list(cases.values()), base / "overlay")
    assert result.start_up_error is None, f"the endpoint did not start: {result.start_up_error}\n{result.log[-3000:]}"
    responses = dict(zip(cases, result.responses, strict=True))
    for response in responses.values():
        response["body"] = base64.b64decode(response.pop("body_b64"))
    return responses


@pytest.fixture(scope="module")
def expected(trial, rows: np.ndarray) -> np.ndarray:
    booster = xgb.Booster()
    booster.load_model(bytearray((trial.model_dir / "xgboost-model").read_bytes()))
    return booster.inplace_predict(rows)


def test_without_the_offline_environment_the_endpoint_does_not_start(tmp_path, trial, registered_container) -> None:
    # GIVEN the registered container's Environment without the offline-install variables
    environment = {key: value for key, value in registered_container["Environment"].items()
                   if not key.startswith("PIP_")}
    tarball = harness.package_model(trial.model_dir, tmp_path / "model.tar.gz")
    # WHEN the image's server starts
    result = harness.serve(tmp_path / "opt_ml", tarball, environment, [_request(b"", None, path="/ping", method="GET")],
                           tmp_path / "overlay")
    # THEN installing code/ fails before the first ping, as on an isolated endpoint
    assert result.start_up_error is not None and result.start_up_error.startswith("InstallModuleError")


def test_ping_answers_200(served) -> None:
    assert served["ping"]["status"] == 200


@pytest.mark.parametrize("case", ["csv", "csv_charset", "parquet", "npy", "recordio", "no_accept", "any_accept"])
def test_predictions_come_back_as_the_declared_csv(served, registered_container, definition, expected, case) -> None:
    response = served[case]
    assert response["status"] == 200, response["body"][:500]
    assert response["content_type"].split(";")[0] == CSV
    predictions = np.array([float(line) for line in response["body"].decode().splitlines()], dtype=np.float32)
    np.testing.assert_allclose(predictions, expected, rtol=1e-6)


@pytest.mark.parametrize("case", ["json_instances", "json_features"])
def test_json_requests_get_json_predictions(served, expected, case) -> None:
    response = served[case]
    assert response["status"] == 200, response["body"][:500]
    assert response["content_type"].split(";")[0] == JSON
    np.testing.assert_allclose(json.loads(response["body"])["predictions"], expected, rtol=1e-6)


@pytest.mark.parametrize(("case", "status", "message"), [
    ("bad_body", 400, r"not numeric"),
    ("wrong_width", 400, r"each row must have 30 features .*got 3"),
    ("unsupported_type", 415, r"content type 'application/xml' is not supported; send one of text/csv"),
    ("unsupported_accept", 406, r"cannot answer with 'application/xml'; accept one of text/csv"),
    ("huge_integer", 400, r"number .*digits"),
    ("deep_json", 400, r"nest"),
    ("empty", 400, r"the request body is empty"),
])
def test_bad_requests_get_a_4xx_naming_the_problem(served, case, status, message) -> None:
    response = served[case]
    text = response["body"].decode(errors="replace")
    assert response["status"] == status, text[:500]
    assert re.search(message, text), text[:500]
    assert "\n" not in text.strip() and "Traceback" not in text
