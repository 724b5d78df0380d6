"""The raw bucket as a table: a Glue database and table over one prefix, and the Athena workgroup that queries it.

The workgroup enforces its own configuration (clients cannot override it): results go to one
prefix of a platform bucket, encrypted with SSE-KMS under the data key, and a query is cancelled
once it has scanned ``bytes_scanned_cutoff`` bytes. Nothing here costs money while idle: the
Glue Data Catalog bills per million objects and requests, Athena per byte scanned.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from constructs import Construct
from constructs.execution_role import ExecutionRole

#: What the Preprocess job's role does with a query: start it, follow it, read its result metadata, stop it.
QUERY_ACTIONS = (
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetWorkGroup",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
)
#: What Athena reads from the catalog, with the caller's credentials, to plan a query of the table.
CATALOG_ACTIONS = ("glue:GetDatabase", "glue:GetPartitions", "glue:GetTable")

_SERDES = {
    # LazySimpleSerDe reads typed columns (OpenCSVSerde would read every column as a string);
    # the header row is skipped by the table property below.
    "csv": (
        "org.apache.hadoop.mapred.TextInputFormat",
        "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        {"field.delim": ",", "serialization.format": ","},
    ),
    "parquet": (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        {"serialization.format": "1"},
    ),
}


class RawDataCatalog(Construct):
    """A Glue database and table over ``location`` and an enforcing Athena workgroup.

    :param database_name: Glue database (lowercase letters, digits, ``_``).
    :param table_name: the table over ``location``.
    :param location: ``s3://bucket/prefix/`` the table reads.
    :param columns: ``(name, glue type)`` pairs; Athena needs the schema declared.
    :param table_format: ``csv`` (one header row) or ``parquet``.
    :param workgroup_name: the Athena workgroup queries must run in.
    :param results_uri: ``s3://bucket/prefix/`` where the workgroup writes every result.
    :param results_key_arn: KMS key of the results (SSE_KMS).
    :param bytes_scanned_cutoff: bytes after which Athena cancels a query (at least 10 MB).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database_name: str,
        table_name: str,
        location: str,
        columns: Sequence[tuple[str, str]],
        table_format: str,
        workgroup_name: str,
        results_uri: str,
        results_key_arn: str,
        bytes_scanned_cutoff: int,
    ) -> None:
        super().__init__(scope, id)
        if table_format not in _SERDES:
            raise ValueError(f"table_format {table_format!r} must be one of {sorted(_SERDES)}")
        stack = cdk.Stack.of(self)
        account, region = stack.account, stack.region
        input_format, output_format, serde, serde_parameters = _SERDES[table_format]
        database = glue.CfnDatabase(
            self, "Database", catalog_id=account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description="ML platform: the raw data bucket as tables"),
        )
        table = glue.CfnTable(
            self, "Table", catalog_id=account, database_name=database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=table_name,
                description="ML platform: raw training data (what the Preprocess step queries)",
                table_type="EXTERNAL_TABLE",
                parameters={"classification": table_format,
                            **({"skip.header.line.count": "1"} if table_format == "csv" else {})},
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    location=location,
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in columns],
                    input_format=input_format,
                    output_format=output_format,
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=serde,
                                                               parameters=serde_parameters),
                ),
            ),
        )
        table.node.add_dependency(database)
        self.workgroup = athena.CfnWorkGroup(
            self, "WorkGroup", name=workgroup_name,
            description="ML platform: queries of the raw data (enforced results location, KMS, scan limit)",
            # Retained objects aside, deleting the stack must not fail on the workgroup's query history.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=results_uri,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=results_key_arn),
                    # Results land in a platform bucket; its owner keeps full control of them.
                    acl_configuration=athena.CfnWorkGroup.AclConfigurationProperty(
                        s3_acl_option="BUCKET_OWNER_FULL_CONTROL"),
                ),
            ),
        )
        self.database_name, self.table_name, self.workgroup_name = database_name, table_name, workgroup_name
        self.catalog_arn = f"arn:aws:glue:{region}:{account}:catalog"
        self.database_arn = f"arn:aws:glue:{region}:{account}:database/{database_name}"
        self.table_arn = f"arn:aws:glue:{region}:{account}:table/{database_name}/{table_name}"
        self.workgroup_arn = f"arn:aws:athena:{region}:{account}:workgroup/{workgroup_name}"

    def grant_query(self, role: ExecutionRole) -> None:
        """Run queries in the workgroup over this table only (S3 and KMS are the buckets' own grants)."""
        role.allow("AthenaQuery", list(QUERY_ACTIONS), [self.workgroup_arn])
        role.allow("GlueReadTable", list(CATALOG_ACTIONS), [self.catalog_arn, self.database_arn, self.table_arn])
