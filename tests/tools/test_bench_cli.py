"""python -m bench / bench.training / bench.inference: bad options and failed runs end in one line."""

from __future__ import annotations

import pytest

from bench import __main__ as bench_cli
from bench import batch, formats, inference, training

# Each row: (entry point, argv, exit code, regex of the one stderr line). All fail before any data is generated.
BAD = [
    (bench_cli.main, ["--rows", "0"], 2, r"^error: --rows 0 is too few to time; give at least 1,000; see"
     r" python -m bench\.training --help$"),
    (bench_cli.main, ["--rows", "-5"], 2, r"^error: --rows -5 is too few to time"),
    (bench_cli.main, ["--rows", "1e6"], 2, r"^error: argument --rows: invalid int value: '1e6'"),
    (bench_cli.main, ["--features", "0"], 2, r"^error: --features 0 must be between 1 and 10,000"),
    (bench_cli.main, ["--repeat", "0"], 2, r"^error: --repeat 0 must be at least 1"),
    (bench_cli.main, ["--only", "serving"], 2, r"^error: argument --only: invalid choice: 'serving'"),
    (bench_cli.main, ["--only", "inference", "--rows", "5000"], 2,
     r"^error: the inference benchmark takes no options here \(--rows 5000\); they are bench\.training's"),
    (bench_cli.main, ["--only", "drift", "--rows", "5000"], 2,
     r"^error: the drift benchmark takes no options here \(--rows 5000\); .*python -m bench\.drift for its own"),
    (bench_cli.main, ["--bogus"], 2, r"^error: unrecognized arguments: --bogus; see python -m bench\.training"),
    (training.main, ["--worker", "nope", "."], 2, r"^error: --worker kind 'nope' is not one of baseline,"),
    (training.main, ["--worker", "baseline", "/no/such/dir"], 2, r"^error: --worker data directory /no/such/dir"
     r" does not exist$"),
    (inference.main, ["--rows", "5"], 2, r"^error: unrecognized arguments: --rows 5; see python -m bench\.inference"),
    (bench_cli.main, ["--only", "batch", "--rows", "5000"], 2,
     r"^error: the batch benchmark takes no options here \(--rows 5000\); .*python -m bench\.batch for its own"),
    (batch.main, ["--rows", "5"], 2,
     r"^error: --rows 5 must be between 1,000 and 10,000,000; see python -m bench\.batch"),
    (batch.main, ["--repeat", "0"], 2, r"^error: --repeat 0 must be at least 1; see python -m bench\.batch"),
    (formats.main, ["--rows", "10"], 2,
     r"^error: --rows 10 is too few to time; give at least 1,000; see python -m bench\.formats"),
    (formats.main, ["--worker", "avro", "."], 2, r"^error: --worker format 'avro' is not one of csv, parquet,"),
]


@pytest.mark.parametrize(("main", "argv", "code", "line"), BAD,
                         ids=[f"{m.__module__}:{' '.join(a)}" for m, a, _, _ in BAD])
def test_each_bad_option_is_one_line(main, argv, code, line, guarded, private_tmp):
    ending = guarded(main, argv)
    ending.assert_one_line(code, line)
    assert not list(private_tmp.iterdir())


def test_a_failed_benchmark_run_is_one_line_quoting_the_child(tmp_path, monkeypatch, guarded):
    # GIVEN a worker process that dies with its own one-line error
    def run_child(command, *, cwd, env, log):
        return 1, 0.1, 10.0, "bench: loading ...\nerror: unexpected MemoryError: out of memory (rerun ...)\n"

    monkeypatch.setattr(training, "_run_child", run_child)

    def main(argv):
        return training._python_worker("baseline", tmp_path, tmp_path)

    # WHEN the benchmark runs it
    ending = guarded(main, [])
    # THEN one line: which run failed, its exit code, and its last words
    ending.assert_one_line(1, r"^error: bench baseline failed \(exit 1\): error: unexpected MemoryError: out of"
                              r" memory \(rerun \.\.\.\)$")


def test_disagreeing_handlers_stop_the_inference_benchmark_in_one_line(monkeypatch, guarded, private_tmp):
    # GIVEN a default handler that answers differently from ours
    monkeypatch.setattr(inference, "_default_container_handler", lambda booster, body: b"0.5\n" * 7)
    # WHEN the benchmark compares them
    ending = guarded(inference.main, [])
    # THEN it refuses to time them, in one line, and removes its model directory
    ending.assert_one_line(1, r"^error: our handler and the default one disagree on a 1-row payload; fix"
                              r" training/inference\.py before timing it$")
    assert not list(private_tmp.iterdir())
