"""A processing input's ``AthenaDatasetDefinition``, run locally on DuckDB. This is not Athena.

Athena runs Trino SQL over the Glue tables of the query's database. Locally, each table of that
database in the emulator's Glue catalog becomes a DuckDB view over a copy of the emulator's S3
objects at the table's location, read as the table's SerDe reads them:

* CSV (``LazySimpleSerDe``): columns by position, the header line skipped when the table says so,
  no quoting, a value that does not parse as the column's type is NULL (Hive's rule);
* Parquet: columns by name, case-insensitively.

The query then runs on DuckDB, in the database's schema, and its result is written as one Parquet
object without a suffix (as Athena names its results) under ``OutputS3Uri/<query id>/``, which
SageMaker then downloads to the input's ``LocalPath``. What differs from Athena is in the README
(identifier quoting and case, functions, types, no partitions, no scan limit, no encryption).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tools.pipeline_runner.errors import PipelineError
from tools.pipeline_runner.storage import Storage

#: Glue (Hive) column types -> DuckDB types; a table with another type is refused, naming it.
DUCKDB_TYPES = {
    "double": "DOUBLE", "float": "FLOAT", "int": "INTEGER", "integer": "INTEGER", "bigint": "BIGINT",
    "smallint": "SMALLINT", "tinyint": "TINYINT", "boolean": "BOOLEAN", "string": "VARCHAR",
}
CSV_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
ENGINE = "duckdb (local stand-in for Athena)"


def run_query(
    definition: dict, *, glue: Any, storage: Storage, field: str, step: str, log: Callable[[str], None] = print
) -> dict:
    """Run the query, write its Parquet result under ``OutputS3Uri``; returns what the step's detail shows."""
    import duckdb

    if definition.get("Catalog") != "AwsDataCatalog":
        raise PipelineError(f"Catalog {definition.get('Catalog')!r}: only the account's Glue catalog"
                            " (AwsDataCatalog) is emulated", step=step, field=f"{field}.Catalog")
    if definition.get("OutputFormat") != "PARQUET":
        raise PipelineError(f"OutputFormat {definition.get('OutputFormat')!r}: only PARQUET results are written"
                            " locally", step=step, field=f"{field}.OutputFormat")
    if glue is None:
        raise PipelineError("an Athena query needs the Glue catalog: run against the emulator (its glue client)",
                            step=step, field=field)
    database = definition["Database"]
    try:
        tables = [t for page in glue.get_paginator("get_tables").paginate(DatabaseName=database)
                  for t in page["TableList"]]
    except Exception as exc:  # noqa: BLE001 - an unknown database is this field's fault
        raise PipelineError(f"Glue database {database!r}: {exc}", step=step, field=f"{field}.Database") from None
    query_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="athena-local-") as scratch:
        con = duckdb.connect()
        try:
            con.execute(f"CREATE SCHEMA {_quote(database)}")
            for table in tables:
                try:
                    _register(con, database, table, storage, Path(scratch) / "tables" / table["Name"], step, field)
                except duckdb.Error as exc:
                    first = " ".join(str(exc).split())[:300]
                    raise PipelineError(f"Glue table {database}.{table['Name']}: its objects do not read as the"
                                        f" table declares: {first}", step=step, field=f"{field}.Database") from None
            con.execute(f"SET schema = '{database}'")
            result = Path(scratch) / query_id
            try:
                # The definition's own query, on an in-memory engine over a scratch copy: running it is the point.
                con.execute(f"COPY ({definition['QueryString']}) TO {_literal(result)} (FORMAT PARQUET)")
            except duckdb.Error as exc:
                first = " ".join(str(exc).split())[:300]
                raise PipelineError(f"the query failed on {ENGINE}: {first}; check it is also valid for Athena"
                                    " (Trino)", step=step, field=f"{field}.QueryString") from None
            rows = con.execute(f"SELECT count(*) FROM read_parquet({_literal(result)})").fetchone()[0]  # noqa: S608
        finally:
            con.close()
        uri = f"{definition['OutputS3Uri'].rstrip('/')}/{query_id}/{query_id}"
        storage.upload_file(result, uri)
    log(f"    Athena query on {ENGINE}: {rows} rows -> {uri}")
    return {"engine": ENGINE, "database": database, "tables": [t["Name"] for t in tables], "rows": rows,
            "result": uri, "prefix": f"{definition['OutputS3Uri'].rstrip('/')}/{query_id}/"}


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _register(con: Any, database: str, table: dict, storage: Storage, local: Path, step: str, field: str) -> None:
    """The table as a view of its database's schema, over a copy of the objects at its location."""
    name, descriptor = table["Name"], table.get("StorageDescriptor", {})
    location = descriptor.get("Location", "")
    try:
        files = [p for p in storage.download_prefix(location, local) if not p.name.startswith(("_", "."))]
    except ValueError as exc:
        raise PipelineError(f"Glue table {database}.{name}: {exc}", step=step, field=f"{field}.Database") from None
    if not files:
        raise PipelineError(f"Glue table {database}.{name}: no objects under its location {location}", step=step,
                            field=f"{field}.Database")
    columns = [(c["Name"], c["Type"].lower()) for c in descriptor.get("Columns", [])]
    unknown = [f"{n} {t}" for n, t in columns if t not in DUCKDB_TYPES]
    if unknown:
        raise PipelineError(f"Glue table {database}.{name}: column type {unknown[0]!r} has no local equivalent"
                            f" (known: {', '.join(sorted(DUCKDB_TYPES))})", step=step, field=f"{field}.Database")
    paths = "[" + ", ".join(_literal(p) for p in sorted(files)) + "]"
    serde = descriptor.get("SerdeInfo", {}).get("SerializationLibrary", "")
    raw = _quote(f"raw_{name}")
    if serde == PARQUET_SERDE:
        con.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_parquet({paths}, union_by_name = true)")  # noqa: S608
        present = {row[0].lower(): row[0] for row in con.execute(f"DESCRIBE temp.{raw}").fetchall()}
        missing = [n for n, _ in columns if n.lower() not in present]
        if missing:
            raise PipelineError(f"Glue table {database}.{name}: column {missing[0]!r} is in no Parquet file under"
                                f" {location}", step=step, field=f"{field}.Database")
        select = ", ".join(f"TRY_CAST({_quote(present[n.lower()])} AS {DUCKDB_TYPES[t]}) AS {_quote(n)}"
                           for n, t in columns)
    elif serde == CSV_SERDE:
        params = {**table.get("Parameters", {}), **descriptor.get("SerdeInfo", {}).get("Parameters", {})}
        skip = int(params.get("skip.header.line.count", "0"))
        delim = params.get("field.delim", ",").replace("'", "''")
        spec = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(columns))) + "}"
        # Materialized first: DuckDB would push TRY_CAST into the CSV reader as a hard cast.
        con.execute(f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv({paths}, auto_detect = false,"  # noqa: S608
                    f" header = false, skip = {skip}, delim = '{delim}', quote = '', escape = '',"
                    f" null_padding = true, columns = {spec})")
        select = ", ".join(f"TRY_CAST(c{i} AS {DUCKDB_TYPES[t]}) AS {_quote(n)}" for i, (n, t) in enumerate(columns))
    else:
        raise PipelineError(f"Glue table {database}.{name}: SerDe {serde!r} is not emulated (CSV: {CSV_SERDE},"
                            f" Parquet: {PARQUET_SERDE})", step=step, field=f"{field}.Database")
    # Identifiers are quoted, paths are literals: the catalog's names cannot change the statement.
    con.execute(f"CREATE VIEW {_quote(database)}.{_quote(name)} AS SELECT {select} FROM temp.{raw}")  # noqa: S608
