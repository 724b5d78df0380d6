"""Property-based: every channel file is either read into the right matrix or refused with a one-line UserError.

GIVEN generated files (random bytes under every data suffix, gzip files cut at any
byte, ragged CSV with numbers, blanks, words, NaN and overflowing numbers, header
rows with and without a ``label`` column, Parquet with and without one, labels
outside the objective's domain) WHEN the in-memory reader and the streaming
reader (external memory) read them THEN each outcome is a matrix equal to an
independent oracle's, or a UserError whose single line names the file; never any
other exception. Both readers agree. Examples are derandomized: every run checks
the same files.
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from smxgb import data, matrices
from smxgb.failure import UserError
from smxgb.labels import rule_for

EXAMPLES = 150
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
#: Total examples per run: six properties of EXAMPLES each (reported in the PR).
TOTAL_EXAMPLES = 6 * EXAMPLES

OBJECTIVES = [None, "binary:logistic", "multi:softprob", "reg:gamma", "count:poisson", "reg:squarederror"]
NUM_CLASS = 3


def _rule(objective):
    return rule_for(objective, NUM_CLASS) if objective else None


# ---------------------------------------------------------------- reading through both paths


def _read_memory(channel: data.Channel, rule) -> tuple[np.ndarray, np.ndarray]:
    loaded = data.load_channel(channel, rule=rule)
    return data._dense(loaded.features), loaded.label


def _read_streaming(channel: data.Channel, rule) -> tuple[np.ndarray, np.ndarray]:
    batches = list(matrices._stream_batches(channel, [None], rule)())
    X = np.vstack([data._dense(features) for features, _ in batches])
    return X, np.concatenate([label for _, label in batches])


def _outcome(read, directory: Path, rule, content_type=None):
    """``("matrix", X, y)`` or ``("error", message)``; any other exception fails the test."""
    try:
        channel = data.open_channel("train", directory, content_type)
        X, y = read(channel, rule)
    except UserError as error:
        message = str(error)
        assert message.strip() and "\n" not in message, f"not one line: {message!r}"
        assert str(directory) in message or "channel 'train'" in message, f"names no file: {message}"
        return ("error", message)
    return ("matrix", X, y)


def _both(directory: Path, rule, content_type=None):
    memory = _outcome(_read_memory, directory, rule, content_type)
    event(memory[0])  # --hypothesis-show-statistics shows how many examples were read versus refused
    streaming = _outcome(_read_streaming, directory, rule, content_type)
    assert memory[0] == streaming[0], f"in memory: {memory[0]} {memory[1:]!s:.300}, streamed: {streaming!s:.300}"
    if memory[0] == "matrix":
        np.testing.assert_array_equal(memory[1], streaming[1])
        np.testing.assert_array_equal(memory[2], streaming[2])
    return memory


def _assert_sound(outcome, rule) -> None:
    """Whatever was read is trainable: float32, one label per row, finite labels in the domain, no inf."""
    if outcome[0] != "matrix":
        return
    _, X, y = outcome
    assert X.dtype == np.float32 and y.dtype == np.float32
    assert X.shape[0] == y.shape[0] > 0 and X.shape[1] >= 1
    assert np.isfinite(y).all() and not np.isinf(X).any()
    if rule is not None:
        assert rule.valid(y).all()


# ---------------------------------------------------------------- CSV oracle

WORDS = ["abc", "x", "label", "a", "b"]
csv_fields = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda v: f"{v:.6g}"),
    st.integers(min_value=-3, max_value=40).map(str),
    st.sampled_from(["", "NaN", "inf", "1e999", *WORDS]),
)


def _number(text: str) -> float | None:
    """The oracle's parse: empty/NaN is missing, a word is no number."""
    if text in ("", "NaN"):
        return math.nan
    try:
        return float(text)
    except ValueError:
        return None


def csv_oracle(rows: list[list[str]], rule):
    """Expected ``(X, y)`` of a CSV, or ``None`` where the reader must refuse it."""
    rows = [row for row in rows if ",".join(row) != ""]  # blank lines are skipped
    if not rows:
        return None
    names = rows[0]
    header = len(names) >= 2 and all(n and _number(n) is None and n != "NaN" for n in names)
    label_at = 0
    if header:
        if "label" not in names or len(set(names)) != len(names):
            return None
        label_at, rows = names.index("label"), rows[1:]
    width = len(names)
    if not rows or width < 2 or any(len(row) != width for row in rows):
        return None
    values = [[_number(field) for field in row] for row in rows]
    if any(v is None for row in values for v in row):
        return None
    matrix = np.array(values, dtype=np.float32)
    y = matrix[:, label_at]
    X = np.delete(matrix, label_at, axis=1)
    if not np.isfinite(y).all() or np.isinf(X).any():
        return None
    if rule is not None and not rule.valid(y).all():
        return None
    return X, y


csv_tables = st.integers(min_value=1, max_value=5).flatmap(
    lambda width: st.tuples(
        st.lists(st.lists(csv_fields, min_size=width, max_size=width), min_size=1, max_size=8),
        # ragged rows mixed in, blank lines, and header variants
        st.lists(st.tuples(st.integers(0, 8), st.lists(csv_fields, min_size=0, max_size=6)), max_size=2),
        st.one_of(st.none(), st.permutations(["label", "a", "b", "c", "d"][:width]),
                  st.lists(st.sampled_from(WORDS), min_size=width, max_size=width)),
    )
)


def _csv_rows(table) -> list[list[str]]:
    rows, extra, header = table
    rows = [list(row) for row in rows]
    for position, row in extra:
        rows.insert(min(position, len(rows)), list(row))
    if header is not None:
        rows.insert(0, list(header))
    return rows


def _write(directory: Path, name: str, payload: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(payload)
    return directory


@SETTINGS
@given(table=csv_tables, objective=st.sampled_from(OBJECTIVES), compress=st.booleans())
def test_csv_is_read_as_the_oracle_says_or_refused(tmp_path_factory, table, objective, compress):
    rows = _csv_rows(table)
    text = "".join(",".join(row) + "\n" for row in rows).encode()
    name = "d.csv.gz" if compress else "d.csv"
    directory = _write(tmp_path_factory.mktemp("csv"), name, gzip.compress(text, mtime=0) if compress else text)
    rule = _rule(objective)
    # WHEN both readers read it
    outcome = _both(directory, rule)
    expected = csv_oracle(rows, rule) if text.strip() else None
    # THEN a file the oracle accepts is read exactly, and one it refuses is a UserError
    if expected is None:
        assert outcome[0] == "error", f"read {rows!r} that should have been refused"
    else:
        assert outcome[0] == "matrix", f"refused {rows!r}: {outcome[1]}"
        np.testing.assert_allclose(outcome[1], expected[0], rtol=1e-6)
        np.testing.assert_array_equal(outcome[2], expected[1])
    _assert_sound(outcome, rule)


@SETTINGS
@given(payload=st.binary(max_size=400), suffix=st.sampled_from(["d.csv", "d.csv.gz", "d.parquet", "d.libsvm", "d"]),
       objective=st.sampled_from(OBJECTIVES))
def test_random_bytes_under_any_suffix_are_a_matrix_or_a_user_error(tmp_path_factory, payload, suffix, objective):
    directory = _write(tmp_path_factory.mktemp("bytes"), suffix, payload)
    rule = _rule(objective)
    outcome = _both(directory, rule)
    _assert_sound(outcome, rule)


@SETTINGS
@given(rows=st.integers(min_value=1, max_value=300), cut=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_a_gzip_file_cut_short_anywhere_is_refused_naming_it(tmp_path_factory, rows, cut):
    text = "".join(f"{i % 2},{i}.25,{i * 3}\n" for i in range(rows)).encode()
    full = gzip.compress(text, mtime=0)
    directory = _write(tmp_path_factory.mktemp("gz"), "d.csv.gz", full[: int(len(full) * cut)])
    outcome = _both(directory, None)
    assert outcome[0] == "error"
    assert "d.csv.gz" in outcome[1] and ("gzip" in outcome[1] or "empty" in outcome[1])


_KINDS = st.sampled_from(["float32", "float32", "float64", "int64", "bool", "string"])
parquet_columns = st.one_of(
    # usually one label column among features, sometimes none, sometimes two
    st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), _KINDS), min_size=0, max_size=3).flatmap(
        lambda features: st.integers(0, len(features)).map(
            lambda at: features[:at] + [("label", "float32")] + features[at:])),
    st.lists(st.tuples(st.sampled_from(["label", "a", "b", "c", "label"]), _KINDS), min_size=1, max_size=4),
)


def parquet_oracle(columns, values, rule):
    names = [name for name, _ in columns]
    if "label" not in names or len(set(names)) != len(names) or len(columns) < 2 or not values:
        return None
    if any(kind == "string" for _, kind in columns):
        return None
    matrix = np.array([[float(row[i]) for i in range(len(columns))] for row in values], dtype=np.float32)
    at = names.index("label")
    y, X = matrix[:, at], np.delete(matrix, at, axis=1)
    if not np.isfinite(y).all() or np.isinf(X).any():
        return None
    if rule is not None and not rule.valid(y).all():
        return None
    return X, y


@SETTINGS
@given(columns=parquet_columns, data_=st.data(), objective=st.sampled_from(OBJECTIVES))
def test_parquet_with_or_without_label_is_read_as_the_oracle_says_or_refused(tmp_path_factory, columns, data_,
                                                                              objective):
    n = data_.draw(st.integers(min_value=0, max_value=6))
    cell = st.sampled_from([0.0, 1.0] * 5 + [2.0, -1.0, 0.5, 3.0, math.inf, math.nan])
    values = data_.draw(st.lists(st.lists(cell, min_size=len(columns), max_size=len(columns)), min_size=n,
                                 max_size=n))
    arrays = []
    for i, (_, kind) in enumerate(columns):
        if kind in ("int64", "bool"):  # these types hold no inf/NaN: the file (and the oracle) gets 0 instead
            for row in values:
                finite = row[i] if math.isfinite(row[i]) else 0.0
                row[i] = float(bool(finite)) if kind == "bool" else float(int(finite))
        column = [row[i] for row in values]
        if kind == "string":
            arrays.append(pa.array([str(v) for v in column], pa.string()))
        elif kind == "bool":
            arrays.append(pa.array([bool(v) for v in column], pa.bool_()))
        elif kind == "int64":
            arrays.append(pa.array([int(v) for v in column], pa.int64()))
        else:
            arrays.append(pa.array(column, pa.float32() if kind == "float32" else pa.float64()))
    table = pa.Table.from_arrays(arrays, names=[name for name, _ in columns])
    directory = tmp_path_factory.mktemp("pq")
    pq.write_table(table, directory / "d.parquet")
    rule = _rule(objective)
    outcome = _both(directory, rule)
    expected = parquet_oracle(columns, values, rule)
    if expected is None:
        assert outcome[0] == "error", f"read {columns} {values} that should have been refused"
    else:
        assert outcome[0] == "matrix", f"refused {columns} {values}: {outcome[1]}"
        np.testing.assert_array_equal(outcome[1], expected[0])
        np.testing.assert_array_equal(outcome[2], expected[1])
    _assert_sound(outcome, rule)


@SETTINGS
@given(lines=st.lists(st.one_of(
    st.tuples(st.sampled_from([0, 1, 2, -1, 0.5, 7]),
              st.lists(st.tuples(st.integers(1, 6), st.floats(-10, 10, allow_nan=False)), max_size=3)).map(
        lambda t: f"{t[0]:g} " + " ".join(f"{i}:{v:g}" for i, v in t[1])),
    st.sampled_from(["", "x y", "1 a:b", "1 0:1", "1 3:inf", "nan 1:1", "1 1:1 1:2", "2 -1:3"])),
    min_size=1, max_size=6), objective=st.sampled_from(OBJECTIVES))
def test_libsvm_lines_are_a_matrix_or_a_user_error(tmp_path_factory, lines, objective):
    directory = _write(tmp_path_factory.mktemp("svm"), "d.libsvm", ("\n".join(lines) + "\n").encode())
    rule = _rule(objective)
    outcome = _both(directory, rule)
    _assert_sound(outcome, rule)


@SETTINGS
@given(train=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=3, unique=True),
       validation=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=3, unique=True),
       parquet=st.booleans())
def test_validation_columns_must_match_trains_by_name_and_width(tmp_path_factory, train, validation, parquet):
    root = tmp_path_factory.mktemp("channels")

    def write(name: str, columns: list[str]) -> data.Channel:
        directory = root / name
        directory.mkdir()
        if parquet:
            pq.write_table(pa.table({"label": [0.0, 1.0], **{c: [1.0, 2.0] for c in columns}}),
                           directory / "d.parquet")
        else:
            (directory / "d.csv").write_text("label," + ",".join(columns) + "\n0," + ",".join("1" * len(columns))
                                             + "\n1," + ",".join("2" * len(columns)) + "\n")
        return data.open_channel(name, directory)

    train_channel, validation_channel = write("train", train), write("validation", validation)
    loaded = data.load_channel(train_channel)
    try:
        data.load_channel(validation_channel, loaded.n_features, names=loaded.feature_names)
    except UserError as error:
        assert train != validation
        assert "\n" not in str(error) and "channel 'validation'" in str(error)
        assert "differ from the training data" in str(error) or "features but" in str(error)
    else:
        assert train == validation
