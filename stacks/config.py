"""Environment configuration: frozen dataclasses, chosen in ``app.py`` only.

Every knob that changes what the platform costs or exposes is a field here
with a documented default; stacks receive these objects and never read CDK
context themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

# AWS's documentation placeholder account: synth needs a concrete account and
# region (no lookups), and nothing can be deployed to this one by accident.
PLACEHOLDER_ACCOUNT = "111122223333"


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the fix."""


#: The regions of the ``aws`` partition (the platform's ARNs name no other), as
#: of botocore 1.44. A constant, not a lookup: synth makes no AWS or network call.
#: ``tests/tools/test_app_context.py`` checks it against botocore's bundled list.
AWS_REGIONS: tuple[str, ...] = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
    "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
    "us-west-1", "us-west-2",
)

#: The context keys ``app.py`` reads (``cdk synth -c KEY=VALUE``); CDK's own keys contain ``:``.
CONTEXT_KEYS = ("env", "account", "region", "model_package_version", "delivery")


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """The VPC: private isolated subnets only, no NAT, no internet gateway."""

    #: CIDR of the VPC; two /20 isolated subnets are carved per AZ count.
    cidr: str = "10.40.0.0/16"
    #: AZs are named, not looked up, to keep synth hermetic. Each extra AZ
    #: multiplies the interface endpoints' hourly cost.
    availability_zones: tuple[str, ...] = ("us-east-1a", "us-east-1b")
    #: Jobs and the real-time endpoint run in the VPC's isolated subnets. Off:
    #: jobs run network-isolated outside your VPC, where SageMaker moves their
    #: S3 data and logs on its side and no interface endpoint is needed (the
    #: guardrails still demand isolation, encryption and the platform's keys,
    #: and refuse any VPC but the platform's).
    jobs_in_vpc: bool = True
    #: Always-on interface endpoints of the VPC (keys of
    #: ``constructs.isolated_vpc.SAGEMAKER_INTERFACE_ENDPOINTS``), about
    #: $7.30/month each per AZ. Jobs in the VPC need Logs and Monitoring (their
    #: logs and metrics leave through the job's network interface; SageMaker
    #: pulls images from ECR and reaches S3 through the gateway endpoint
    #: itself); the notebook needs SageMakerApi, Sts and Logs, and
    #: SageMakerRuntime to call endpoints. Empty: the workbench brings its own
    #: while it is deployed.
    interface_endpoints: tuple[str, ...] = ("SageMakerApi", "SageMakerRuntime", "Sts", "Logs", "Monitoring")
    #: Days before VPC flow log objects expire from the access-log bucket (the
    #: platform's only log store; SageMaker creates its job log groups itself).
    flow_log_retention_days: int = 90


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Buckets and keys. Data buckets and keys always survive ``cdk destroy``."""

    #: Days before noncurrent object versions expire (undo window for overwrites).
    noncurrent_version_expiration_days: int = 30
    #: Days before raw data moves to S3 Standard-IA.
    raw_infrequent_access_days: int = 30
    #: Days before raw data moves to Glacier Instant Retrieval.
    raw_glacier_ir_days: int = 180
    #: Days before processed channels and model artifacts move to Intelligent-Tiering.
    intelligent_tiering_days: int = 30
    #: Days S3 server access logs are kept.
    access_log_retention_days: int = 365
    #: Days incomplete multipart uploads are kept before S3 aborts them.
    abort_incomplete_upload_days: int = 7


@dataclass(frozen=True, kw_only=True)
class PerimeterConfig:
    """The data perimeter: the only principals the keys and data buckets let in.

    Key policies and bucket policies name these roles; every other principal of
    the account is refused, whatever its own IAM policies say (an administrator
    with ``*`` on ``*`` included). Empty ARNs mean the platform creates the role.
    """

    #: Role that administers the platform's keys (policy, rotation, disabling,
    #: scheduled deletion). Default: ``<prefix>-key-admin``, created by the data
    #: stack and assumable with MFA by account principals that IAM allows to.
    #: A role named here must exist before the data stack deploys (KMS refuses
    #: key policies naming unknown principals).
    key_admin_role_arn: str = ""
    #: Role for emergencies: reads every data bucket through the perimeter.
    #: Default: ``<prefix>-break-glass``, assumable only with MFA; alert on its use.
    break_glass_role_arn: str = ""
    #: Further roles of this account let through to the raw bucket and the data
    #: key, e.g. the role of an ingestion job that uploads raw data.
    raw_data_writer_role_arns: tuple[str, ...] = ()
    #: Qualifier of the CDK bootstrap whose CloudFormation execution role deploys
    #: the stacks; it manages the keys (never deletes them) and creates grants
    #: for the endpoint and notebook volumes.
    cdk_qualifier: str = "hnb659fds"


@dataclass(frozen=True, kw_only=True)
class WorkloadConfig:
    """The notebook, the model registry and the endpoint: the knobs that cost money while idle.

    Constructs validate these values (``IdleNotebook``, ``ModelEndpoint``) so a
    bad value fails synth with a message naming the fix.
    """

    #: Notebook instance type; ml.t3.medium is about $0.05/hour in us-east-1.
    notebook_instance_type: str = "ml.t3.medium"
    #: Minutes without kernel or terminal activity before the notebook stops
    #: itself (checked every 5 minutes, so the minimum is 5); with Studio, before
    #: SageMaker shuts an idle JupyterLab app down (60 minutes at least).
    notebook_idle_minutes: int = 60
    #: The workbench: ``notebook`` (default), one notebook instance for
    #: ``PeopleConfig.workbench_owner``; or ``studio``, a VPC-only SageMaker Studio
    #: domain with a user profile per ``PeopleConfig.data_scientists``. Studio has
    #: no idle cost but its EFS volume's stored bytes (about $0.30 per GB-month).
    workbench: str = "notebook"
    #: ``pip install`` without the internet: a CodeArtifact domain (encrypted with the
    #: model key) and a repository with the public PyPI upstream, the
    #: ``codeartifact.api`` and ``codeartifact.repositories`` interface endpoints in
    #: the workbench's AZ (about $14.60 a month together while the workbench is
    #: deployed, unless the network keeps them on), and the notebook's pip pointed at
    #: it. CodeArtifact itself bills $0.05 per GB-month stored and $0.05 per 10,000
    #: requests (the first 2 GB and 100,000 requests of an account each month are free).
    package_mirror: bool = False
    #: ``serverless`` costs nothing while idle but has no VPC, network
    #: isolation, data capture or autoscaling policy; ``real-time`` has all of
    #: them and bills its instances around the clock.
    endpoint_mode: str = "serverless"
    #: Serverless memory: 1024-6144 MB in 1024 MB steps.
    serverless_memory_mb: int = 2048
    #: Serverless concurrent invocations (1-200; the account-wide quota also applies).
    serverless_max_concurrency: int = 5
    #: Real-time instance type; ml.m5.large is about $0.115/hour in us-east-1.
    instance_type: str = "ml.m5.large"
    #: Real-time autoscaling bounds; min is also the initial instance count.
    min_instances: int = 1
    max_instances: int = 2
    #: Invocations per instance per minute that target tracking holds.
    target_invocations_per_instance: int = 100
    #: Percent of real-time requests and responses captured to the model bucket.
    data_capture_percent: int = 10
    #: Percent of capacity the blue/green canary receives before the rest shifts.
    canary_percent: int = 25
    #: Minutes the alarms watch the canary (and again the full fleet) before an update completes.
    bake_minutes: int = 10
    #: Alarm (and roll back an update) when ModelLatency's p90 exceeds this many milliseconds.
    latency_alarm_ms: int = 1000
    #: Alarm (and roll back an update) at this many 5XX invocation errors in a minute.
    error_alarm_count: int = 5
    #: The approved model package version of ``model_package_group_name`` to
    #: serve. Version 1 is the example default so that synth always renders
    #: the endpoint; deploy with ``-c model_package_version=N`` once version N
    #: is approved (SageMaker refuses to create a model from one that is not).
    model_package_version: int = 1
    #: Accounts (12-digit IDs) allowed to read and deploy this environment's
    #: approved models; empty means no resource policy on the group.
    trusted_account_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BudgetConfig:
    """The environment's AWS Budgets budget; alerts go to the platform's alert topic."""

    #: Budgeted spend per calendar month, in USD, of resources tagged with this environment.
    monthly_limit_usd: float = 25.0
    #: Alert when the month's actual spend passes each percentage of the limit.
    actual_thresholds_percent: tuple[float, ...] = (50.0, 80.0, 100.0)
    #: Alert when the month's forecast passes each percentage of the limit.
    forecast_thresholds_percent: tuple[float, ...] = (100.0,)


@dataclass(frozen=True, kw_only=True)
class TuningRange:
    """One hyperparameter range searched by the tuning job (a name ``training/train.py`` accepts)."""

    name: str
    min_value: float
    max_value: float
    #: ``Auto``, ``Linear``, ``Logarithmic`` (min must be > 0) or ``ReverseLogarithmic``.
    scaling: str = "Auto"
    #: Integer ranges are searched over whole numbers (``max_depth``).
    integer: bool = False


#: Engines of the Preprocess step (``PipelineConfig.preprocess_engine``).
PREPROCESS_ENGINES = ("pandas", "spark")
#: Formats of the channels the Preprocess step writes (``PipelineConfig.channel_format``).
CHANNEL_FORMATS = ("csv", "parquet", "recordio")


#: Where the Preprocess step's raw data comes from (``SourceConfig.kind``).
PREPROCESS_SOURCES = ("s3", "athena", "redshift")
#: Glue column types the Athena table may declare (what the preprocessing schema check reads as numbers or labels).
GLUE_COLUMN_TYPES = ("double", "float", "int", "bigint", "smallint", "tinyint", "boolean", "string")
#: Athena refuses a per-query data usage limit below 10 MB.
MIN_BYTES_SCANNED_CUTOFF = 10_000_000


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """Where preprocessing reads its raw data: files in S3 (default), an Athena query, or a Redshift query.

    ``athena``: the data stack defines a Glue database and table over the raw bucket's
    ``PipelineConfig.raw_data_prefix`` and an Athena workgroup that enforces its own settings
    (results under ``athena-results/`` of the processed bucket, SSE-KMS with the data key, a
    bytes-scanned limit per query); the Preprocess step's input is an ``AthenaDatasetDefinition``
    whose Parquet result SageMaker downloads for the job. ``redshift``: your cluster (named here,
    never built) UNLOADs the query's result as Parquet under ``redshift-unload/`` of the processed
    bucket, encrypted with the data key, through a role the platform creates for the cluster.
    """

    #: ``s3`` (files under the raw prefix), ``athena`` or ``redshift``.
    kind: str = "s3"
    #: Glue table columns over the raw prefix, ``(name, glue type)``, the label among them; Athena
    #: needs them declared (no crawler). Required with ``athena``.
    table_columns: tuple[tuple[str, str], ...] = ()
    #: Format of the files under the raw prefix that the Glue table reads: ``csv`` (one header row) or ``parquet``.
    table_format: str = "csv"
    #: The query; empty means every column of the table (``SELECT * FROM "<table>"``). Athena's
    #: dialect is Trino's: identifiers in double quotes, strings in single quotes.
    athena_query: str = ""
    #: Athena cancels a query of the workgroup once it has scanned this many bytes. 10 GB by
    #: default: at Athena's $5 per TB scanned, no query costs more than about $0.05.
    bytes_scanned_cutoff_per_query: int = 10_000_000_000
    #: Your Redshift cluster, its database, the database user SageMaker connects as, and the query
    #: (an UNLOAD of its result is what the step reads). All required with ``redshift``.
    redshift_cluster_id: str = ""
    redshift_database: str = ""
    redshift_db_user: str = ""
    redshift_query: str = ""

    def __post_init__(self) -> None:
        if self.kind not in PREPROCESS_SOURCES:
            raise ConfigError(f"source kind {self.kind!r} must be one of {', '.join(PREPROCESS_SOURCES)}")
        if self.table_format not in ("csv", "parquet"):
            raise ConfigError(f"table_format {self.table_format!r} must be csv or parquet")
        if self.bytes_scanned_cutoff_per_query < MIN_BYTES_SCANNED_CUTOFF:
            raise ConfigError(f"bytes_scanned_cutoff_per_query {self.bytes_scanned_cutoff_per_query} must be at"
                              f" least {MIN_BYTES_SCANNED_CUTOFF} (Athena's minimum, 10 MB)")
        for name, kind in self.table_columns:
            if not re.fullmatch(r"[a-z_][a-z0-9_]{0,254}", name) or kind not in GLUE_COLUMN_TYPES:
                raise ConfigError(f"table column ({name!r}, {kind!r}) must be a lowercase Glue name (letters,"
                                  f" digits, _) and one of the types {', '.join(GLUE_COLUMN_TYPES)}")
        if self.kind == "athena" and not self.table_columns:
            raise ConfigError("the athena source needs SourceConfig.table_columns: the Glue table's (name, type)"
                              " pairs, label included, e.g. (('x1', 'double'), ('label', 'int'))")
        missing = [f for f in ("redshift_cluster_id", "redshift_database", "redshift_db_user", "redshift_query")
                   if not getattr(self, f)]
        if self.kind == "redshift" and missing:
            raise ConfigError(f"the redshift source needs SourceConfig.{missing[0]}: the platform queries your"
                              " cluster, it does not build one")
        if self.redshift_cluster_id and not re.fullmatch(r"[a-z][a-z0-9-]{0,62}", self.redshift_cluster_id):
            raise ConfigError(f"redshift_cluster_id {self.redshift_cluster_id!r} must be a Redshift cluster"
                              " identifier (lowercase letters, digits, hyphens; at most 63)")
        for field_name in ("redshift_database", "redshift_db_user"):
            value = getattr(self, field_name)
            if value and not re.fullmatch(r"[a-z_][a-z0-9_$]{0,63}", value):
                raise ConfigError(f"{field_name} {value!r} must be a Redshift identifier (lowercase letters,"
                                  " digits, _ or $; at most 64)")


@dataclass(frozen=True, kw_only=True)
class ApproachConfig:
    """One approach of the tuning job: a training job definition with its own fixed settings and ranges."""

    #: The definition's ``DefinitionName`` (``[a-zA-Z0-9-]``, at most 64 characters).
    name: str
    #: Hyperparameters fixed for this approach, on top of ``PipelineConfig.static_hyperparameters``.
    static_hyperparameters: tuple[tuple[str, str], ...]
    tuning_ranges: tuple[TuningRange, ...]

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", self.name) or len(self.name) > 64:
            raise ConfigError(f"approach name {self.name!r} must be letters, digits and hyphens (at most 64)")


#: Gradient boosting: rounds of shallow trees, each fit to the errors of the ones before, stopped early
#: when validation stops improving.
BOOSTING = ApproachConfig(
    name="boosting",
    static_hyperparameters=(("approach", "boosting"), ("num_round", "300"), ("early_stopping_rounds", "20")),
    tuning_ranges=(
        TuningRange(name="eta", min_value=0.01, max_value=0.3, scaling="Logarithmic"),
        TuningRange(name="max_depth", min_value=3, max_value=10, integer=True),
        TuningRange(name="min_child_weight", min_value=1, max_value=10),
        TuningRange(name="subsample", min_value=0.5, max_value=1.0),
        TuningRange(name="colsample_bytree", min_value=0.5, max_value=1.0),
        TuningRange(name="gamma", min_value=0, max_value=5),
        TuningRange(name="alpha", min_value=0.001, max_value=10, scaling="Logarithmic"),
        TuningRange(name="lambda", min_value=0.001, max_value=10, scaling="Logarithmic"),
    ),
)
#: Bagging: a random forest grown by XGBoost itself, one round of independent deeper trees on samples of
#: rows and of columns per split (train.py fixes num_round=1 and eta=1 for approach=forest).
FOREST = ApproachConfig(
    name="forest",
    static_hyperparameters=(("approach", "forest"),),
    tuning_ranges=(
        TuningRange(name="num_parallel_tree", min_value=50, max_value=300, integer=True),
        TuningRange(name="max_depth", min_value=4, max_value=12, integer=True),
        TuningRange(name="min_child_weight", min_value=1, max_value=10),
        TuningRange(name="subsample", min_value=0.5, max_value=0.9),
        TuningRange(name="colsample_bynode", min_value=0.3, max_value=0.9),
    ),
)


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """The training pipeline's defaults; instance types, counts, job limits and the AUC gate are
    also pipeline parameters, so one execution can override them without a deploy.
    """

    #: Preprocessing and evaluation instances. Processing jobs cannot run on spot
    #: capacity; ml.m5.large is about $0.115/hour on demand in us-east-1.
    processing_instance_type: str = "ml.m5.large"
    processing_instance_count: int = 1
    #: Tuning trials; ml.m5.xlarge is about $0.23/hour on demand, typically 60-70% less on spot.
    training_instance_type: str = "ml.m5.xlarge"
    training_instance_count: int = 1
    #: ML storage volume per instance (encrypted with the model key).
    volume_size_gb: int = 30
    #: Managed spot for every training trial; interrupted trials resume from their checkpoints.
    use_spot_training: bool = True
    #: Billable seconds per trial before SageMaker stops it.
    max_runtime_seconds: int = 3600
    #: Seconds per trial including waiting for spot capacity; must be >= max_runtime_seconds.
    max_wait_seconds: int = 7200
    #: Seconds per preprocessing or evaluation job.
    processing_max_runtime_seconds: int = 3600
    #: ``Bayesian`` or ``Random``. Hyperband brings its own early stopping and Grid
    #: only searches categorical ranges, so neither fits the ranges and Auto early stopping here.
    tuning_strategy: str = "Bayesian"
    #: Trials per tuning job, and how many run at once (the spot and account quotas bound both).
    max_training_jobs: int = 20
    max_parallel_training_jobs: int = 2
    #: Test-set AUC the best model needs before it is registered.
    auc_threshold: float = 0.8
    #: Raw data prefix in the raw bucket that preprocessing reads (CSV/Parquet with a header).
    raw_data_prefix: str = "input/"
    #: Label column of the raw data.
    label_column: str = "label"
    #: Hyperparameters every trial of every approach gets, as strings (SageMaker passes strings).
    static_hyperparameters: tuple[tuple[str, str], ...] = (
        ("objective", "binary:logistic"),
        ("eval_metric", "auc"),
        ("tree_method", "hist"),
    )
    #: The approaches one tuning job compares on the same objective: one training job definition each.
    approaches: tuple[ApproachConfig, ...] = (BOOSTING, FOREST)
    #: Name of a finished tuning job to warm start from; empty means a cold start.
    warm_start_parent_tuning_job: str = ""
    #: ``IdenticalDataAndAlgorithm`` (same data, new ranges) or ``TransferLearning``.
    warm_start_type: str = "IdenticalDataAndAlgorithm"
    #: Which engine runs the Preprocess step. ``pandas`` (default): ``preprocess.py`` on one instance
    #: of the XGBoost image, CSV channels. ``spark``: ``spark_preprocess.py`` on SageMaker's Spark 3.5
    #: processing image and ``spark_instance_count`` instances, Parquet shards. Both put a row in the
    #: same split (a seeded hash of its values), so switching engines does not reshuffle the data.
    preprocess_engine: str = "pandas"
    #: Instances of the Spark processing cluster (a pipeline parameter, ``SparkInstanceCount``).
    spark_instance_count: int = 2
    #: Where preprocessing reads raw data: files under ``raw_data_prefix`` (default), an Athena
    #: query over a Glue table of that prefix, or a query on your Redshift cluster.
    source: SourceConfig = field(default_factory=SourceConfig)
    #: Format of the train/validation/test channels. Empty (default): the engine's own, CSV from
    #: ``pandas``, Parquet from ``spark``. ``csv``, ``parquet`` or ``recordio`` (RecordIO-protobuf, the
    #: format of SageMaker's built-in algorithms; ``pandas`` only, as the Spark step runs no Python on
    #: its executors). The trials read the channels with the matching ``ContentType``.
    channel_format: str = ""

    def __post_init__(self) -> None:
        if self.tuning_strategy not in ("Bayesian", "Random"):
            raise ConfigError(f"tuning_strategy {self.tuning_strategy!r} must be Bayesian or Random")
        if self.use_spot_training and self.max_wait_seconds < self.max_runtime_seconds:
            raise ConfigError(
                f"max_wait_seconds ({self.max_wait_seconds}) must be >= max_runtime_seconds"
                f" ({self.max_runtime_seconds}) with spot training: the wait includes the run"
            )
        if not 1 <= self.max_parallel_training_jobs <= self.max_training_jobs:
            raise ConfigError("max_parallel_training_jobs must be between 1 and max_training_jobs")
        if self.preprocess_engine not in PREPROCESS_ENGINES:
            raise ConfigError(
                f"preprocess_engine {self.preprocess_engine!r} must be one of {', '.join(PREPROCESS_ENGINES)}"
            )
        if self.source.kind != "s3" and self.preprocess_engine != "pandas":
            raise ConfigError(f"source {self.source.kind!r} feeds the pandas engine only (one query result, one"
                              " instance); use preprocess_engine='pandas' or the s3 source with Spark")
        if self.channel_format not in ("", *CHANNEL_FORMATS):
            raise ConfigError(
                f"channel_format {self.channel_format!r} must be one of {', '.join(CHANNEL_FORMATS)}"
                " (or empty for the engine's own)"
            )
        if self.channel_format == "recordio" and self.preprocess_engine == "spark":
            raise ConfigError(
                "channel_format 'recordio' needs preprocess_engine 'pandas': the Spark step writes Parquet or"
                " CSV shards; use channel_format 'parquet' with Spark"
            )
        if self.spark_instance_count < 1:
            raise ConfigError(f"spark_instance_count {self.spark_instance_count} must be at least 1")
        if self.warm_start_type not in ("IdenticalDataAndAlgorithm", "TransferLearning"):
            raise ConfigError(
                f"warm_start_type {self.warm_start_type!r} must be IdenticalDataAndAlgorithm or TransferLearning"
            )
        names = [a.name for a in self.approaches]
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"approaches {names} must be at least one, each named once")
        if not len(names) <= self.max_training_jobs:
            raise ConfigError(f"max_training_jobs ({self.max_training_jobs}) must give each of {names} a trial")
        for r in (r for a in self.approaches for r in a.tuning_ranges):
            if not r.min_value < r.max_value or (r.scaling == "Logarithmic" and r.min_value <= 0):
                raise ConfigError(
                    f"tuning range {r.name} [{r.min_value}, {r.max_value}] with {r.scaling}"
                    " scaling needs min < max (and min > 0 for Logarithmic)"
                )


#: The personas of the people stack (``stacks/people_stack.py``): one role, one
#: customer-managed policy and one IAM group each, named ``<prefix>-<persona>``.
PERSONAS = ("data-scientist", "ml-engineer", "model-approver", "platform-admin", "auditor")
#: The tag naming the person a notebook (or Studio user profile) belongs to; only they may open it.
WORKBENCH_OWNER_TAG = "owner"
#: What the workbench is (``WorkloadConfig.workbench``).
WORKBENCHES = ("notebook", "studio")


@dataclass(frozen=True, kw_only=True)
class PeopleConfig:
    """How people get in: IAM groups with MFA (default), or federation when an identity source is named.

    Every person assumes one persona role (``stacks/people_stack.py``); no IAM
    user or access key is part of the templates. Add a person to the group
    ``<prefix>-<persona>`` (IAM users, MFA required), or switch to federation by
    naming exactly one identity source below.
    """

    #: Longest MFA sign-in a group member may assume a persona with, in seconds
    #: (``aws:MultiFactorAuthAge``); 1 hour by default.
    mfa_max_age_seconds: int = 3600
    #: Length of a persona session; the platform administrator's is always 1 hour.
    session_hours: int = 4
    #: ARN of an IAM SAML provider (``arn:aws:iam::<account>:saml-provider/<name>``) or OIDC
    #: provider (``...:oidc-provider/<host>``): the personas then trust it instead of the groups.
    identity_provider_arn: str = ""
    #: Audience (client ID) the OIDC provider's tokens carry; required with an OIDC provider.
    oidc_audience: str = ""
    #: ARN of an IAM Identity Center instance (``arn:aws:sso:::instance/ssoins-...``): the personas
    #: then trust the roles of the permission sets named ``<prefix>-<persona>`` in this account.
    identity_center_instance_arn: str = ""
    #: The person (IAM user name, or the source identity the identity provider sets)
    #: whose notebook the workbench is: only that data scientist may open it.
    workbench_owner: str = ""
    #: Networks the workbench may be opened from (``aws:SourceIp`` CIDRs, e.g. the office);
    #: empty: any network, still only by its owner.
    workbench_source_cidrs: tuple[str, ...] = ()
    #: The data scientists with a Studio user profile (``WorkloadConfig.workbench="studio"``),
    #: each named as their session's source identity (IAM user name, or what the identity
    #: provider sets): only they may open their own profile.
    data_scientists: tuple[str, ...] = ()
    #: VPC endpoints (``vpce-...``) of the SageMaker API the workbench may be opened
    #: through (``aws:SourceVpce``); empty: no endpoint restriction.
    workbench_source_vpce_ids: tuple[str, ...] = ()

    @property
    def federation(self) -> str:
        """``groups`` (IAM users in groups, MFA), ``saml``, ``oidc`` or ``identity-center``."""
        if self.identity_center_instance_arn:
            return "identity-center"
        if ":saml-provider/" in self.identity_provider_arn:
            return "saml"
        if ":oidc-provider/" in self.identity_provider_arn:
            return "oidc"
        return "groups"

    def validate(self, account: str) -> None:
        if self.identity_provider_arn and self.identity_center_instance_arn:
            raise ConfigError(
                "PeopleConfig names both identity_provider_arn and identity_center_instance_arn;"
                " keep one identity source"
            )
        if self.identity_provider_arn and not re.fullmatch(
            rf"arn:aws:iam::{account}:(saml-provider/[\w.-]+|oidc-provider/[\w./-]+)", self.identity_provider_arn
        ):
            raise ConfigError(
                f"identity_provider_arn {self.identity_provider_arn!r} must be a SAML or OIDC provider of account"
                f" {account}: arn:aws:iam::{account}:saml-provider/<name> or ...:oidc-provider/<host>"
            )
        if self.federation == "oidc" and not self.oidc_audience:
            raise ConfigError(
                "an OIDC identity provider needs PeopleConfig.oidc_audience (the client ID of its tokens)"
            )
        if self.identity_center_instance_arn and not re.fullmatch(
            r"arn:aws:sso:::instance/ssoins-[0-9a-f]{16}", self.identity_center_instance_arn
        ):
            raise ConfigError(
                f"identity_center_instance_arn {self.identity_center_instance_arn!r} must look like"
                " arn:aws:sso:::instance/ssoins-<16 hex digits>"
            )
        if not 900 <= self.mfa_max_age_seconds <= 43200:
            raise ConfigError(
                f"mfa_max_age_seconds={self.mfa_max_age_seconds} must be 900-43200 (15 minutes to 12 hours)"
            )
        if not 1 <= self.session_hours <= 12:
            raise ConfigError(f"session_hours={self.session_hours} must be 1-12 (IAM's limits on a role session)")
        if self.workbench_owner and not re.fullmatch(r"[\w+=,.@-]{2,64}", self.workbench_owner):
            raise ConfigError(
                f"workbench_owner {self.workbench_owner!r} must be an IAM user name or source identity"
                " (2-64 letters, digits or +=,.@_-)"
            )


@dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    """Production checks: the monitoring pipeline's schedule, its thresholds, the alarms and the
    retraining they start (``stacks/monitoring_stack.py``)."""

    #: EventBridge Scheduler expression (UTC) that starts the monitoring pipeline.
    schedule: str = "cron(0 6 * * ? *)"
    #: Hours of data capture each run reads before its start; match the schedule's period.
    window_hours: int = 24
    #: A feature drifts when its population stability index reaches this ...
    psi_threshold: float = 0.1
    #: ... and its KS p-value is below this over the number of features (Bonferroni).
    ks_alpha: float = 0.05
    #: Fewer scored rows than this give no drift verdict.
    min_rows: int = 100
    #: Alarm (and retrain) when a run finds at least this many drifted features.
    drifted_features_alarm: int = 1
    #: The production quality figure alarmed on (``quality_<metric>`` log lines of training/monitor.py) ...
    quality_metric: str = "auc"
    #: ... when it falls below this (for an error metric such as rmse: rises above it).
    quality_alarm_threshold: float = 0.75
    #: At most one retraining started by alarms per this many hours; later alarms are suppressed.
    retrain_interval_hours: int = 24
    #: Days the processing jobs' log group (monitoring figures included) keeps its events.
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        if not re.fullmatch(r"(cron|rate)\(.+\)", self.schedule):
            raise ConfigError(f"monitoring schedule {self.schedule!r} must be cron(...) or rate(...), as EventBridge"
                              " Scheduler takes it, e.g. cron(0 6 * * ? *)")
        if not 1 <= self.window_hours <= 24 * 31:
            raise ConfigError(f"window_hours {self.window_hours} must be 1 to 744 (a month)")
        if not 1 <= self.retrain_interval_hours <= 24 * 365:
            raise ConfigError(f"retrain_interval_hours {self.retrain_interval_hours} must be 1 to 8760 (a year,"
                              " the longest a Step Functions standard workflow keeps an item's lock meaningful)")
        if self.quality_metric not in QUALITY_METRICS:
            raise ConfigError(f"quality_metric {self.quality_metric!r} must be one of {sorted(QUALITY_METRICS)}")
        if self.drifted_features_alarm < 1:
            raise ConfigError("drifted_features_alarm must be at least 1")

    @property
    def quality_higher_is_better(self) -> bool:
        return QUALITY_METRICS[self.quality_metric]


#: Quality figures training/monitor.py publishes, and whether higher is better.
QUALITY_METRICS = {"auc": True, "accuracy": True, "f1": True, "rmse": False, "mae": False}

#: Key prefix in the model bucket that endpoints capture to and the hosting role may write.
DATA_CAPTURE_PREFIX = "data-capture/"
#: Batch scoring reads its input under this prefix of the raw bucket and writes
#: ``<prefix>/<pipeline execution id>/<input file>.out`` in the model bucket. The
#: contract with the monitoring job: input CSV without header, the row id first,
#: then the features in training order; output lines ``<row_id>,<features...>,<prediction>``.
BATCH_SCORING_PREFIX = "batch-scoring"


@dataclass(frozen=True, kw_only=True)
class BatchScoringConfig:
    """The batch-scoring pipeline's transform job; instance type and count are also pipeline parameters."""

    #: ml.m5.xlarge (4 vCPUs, about $0.23/hour on demand in us-east-1). The
    #: XGBoost image runs one model-server worker per vCPU.
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    #: Mini-batch size: SageMaker packs whole lines up to this many MB per request.
    #: 6 MB holds about 20,000 rows of 30 features, past the point where the
    #: handlers' rows/s stop growing with the request size (bench/inference.py),
    #: so the per-request cost (HTTP, parsing set-up) is under 1 % of the work.
    max_payload_mb: int = 6
    #: Requests in flight per instance: one per vCPU of ``instance_type``, so
    #: every model-server worker is busy while the next mini-batch is read.
    #: SageMaker requires ``max_payload_mb * max_concurrent_transforms <= 100``.
    max_concurrent_transforms: int = 4
    #: Seconds a mini-batch may take before SageMaker retries it.
    invocation_timeout_seconds: int = 600
    #: Retries of a failed mini-batch (0-3).
    invocation_max_retries: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.max_payload_mb <= 100:
            raise ConfigError(f"max_payload_mb {self.max_payload_mb} must be 1-100 (SageMaker's limit)")
        if self.max_concurrent_transforms < 1 or self.max_payload_mb * self.max_concurrent_transforms > 100:
            raise ConfigError(
                f"max_payload_mb x max_concurrent_transforms = {self.max_payload_mb} x"
                f" {self.max_concurrent_transforms} must be at most 100 (SageMaker refuses more); lower one"
            )
        if not 0 <= self.invocation_max_retries <= 3:
            raise ConfigError(f"invocation_max_retries {self.invocation_max_retries} must be 0-3")
        if not 1 <= self.invocation_timeout_seconds <= 3600:
            raise ConfigError(f"invocation_timeout_seconds {self.invocation_timeout_seconds} must be 1-3600")
#: Where Athena writes query results (the workgroup enforces it) and Redshift UNLOADs, in the processed bucket.
ATHENA_RESULTS_PREFIX = "athena-results/"
REDSHIFT_UNLOAD_PREFIX = "redshift-unload/"
#: The Glue table over the raw prefix that the Athena source queries (in ``PlatformConfig.glue_database_name``).
GLUE_TABLE_NAME = "raw_data"
#: Per endpoint under this prefix of the model bucket: ``baseline/`` (the served version's drift
#: baseline) and ``ground-truth/`` (labels uploaded later, ``<row_id>,<label>`` CSV).
MONITORING_PREFIX = "monitoring/"
#: Reports of monitoring runs, ``<endpoint>/<execution id>/drift.json`` under this prefix.
MONITORING_REPORTS_PREFIX = "monitoring-reports/"


@dataclass(frozen=True, kw_only=True)
class PlatformConfig:
    """One deployment environment of the platform."""

    #: Environment name, also the suffix of stack names (``MlPlatform-dev-...``).
    name: str
    #: Short project prefix of every SageMaker resource name; IAM policies
    #: scope the platform's permissions to names starting with it.
    project: str = "mlp"
    account: str = PLACEHOLDER_ACCOUNT
    region: str = "us-east-1"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    data: DataConfig = field(default_factory=DataConfig)
    perimeter: PerimeterConfig = field(default_factory=PerimeterConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    batch_scoring: BatchScoringConfig = field(default_factory=BatchScoringConfig)
    workloads: WorkloadConfig = field(default_factory=WorkloadConfig)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    #: Cost-allocation tags on every resource, besides ``Project`` and
    #: ``Environment`` which every environment gets.
    tags: tuple[tuple[str, str], ...] = (("CostCenter", "ml-platform"),)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]{1,9}", self.project):
            raise ConfigError(
                f"project {self.project!r} must be 2-10 lowercase letters or digits starting with a letter,"
                " because it prefixes SageMaker and S3 names; pick a shorter name"
            )
        if not re.fullmatch(r"\d{12}", self.account):
            raise ConfigError(f"account {self.account!r} must be a 12-digit AWS account ID (-c account=...)")
        for arn in self._named_perimeter_roles():
            if not re.fullmatch(rf"arn:aws:iam::{self.account}:role/[\w+=,.@/-]+", arn):
                raise ConfigError(
                    f"perimeter role {arn!r} must be an IAM role ARN of account {self.account}"
                    " (arn:aws:iam::<account>:role/<name>); the perimeter admits no other account"
                )
        if self.workloads.endpoint_mode == "real-time" and not self.network.jobs_in_vpc:
            raise ConfigError(
                "a real-time endpoint runs in the VPC's subnets: set NetworkConfig.jobs_in_vpc=True (with its"
                " Logs and Monitoring endpoints) or use endpoint_mode='serverless'"
            )
        missing = {"Logs", "Monitoring"} - set(self.network.interface_endpoints)
        if self.network.jobs_in_vpc and missing:
            raise ConfigError(
                f"jobs_in_vpc needs the interface endpoints {sorted(missing)}: a job in the VPC sends its logs and"
                " metrics through its network interface; add them to NetworkConfig.interface_endpoints"
            )
        self.people.validate(self.account)
        self._validate_workbench()
        zones = self.network.availability_zones
        if not zones or any(not z.startswith(self.region) for z in zones):
            raise ConfigError(
                f"availability zones {list(zones)} must be named and belong to region {self.region};"
                " set NetworkConfig.availability_zones for that region"
            )

    def _validate_workbench(self) -> None:
        workbench, people = self.workloads.workbench, self.people
        if workbench not in WORKBENCHES:
            raise ConfigError(f"workbench {workbench!r} must be one of {', '.join(WORKBENCHES)}")
        bad = [n for n in people.data_scientists if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", n)]
        if bad:
            raise ConfigError(f"data_scientists {bad} must be Studio user profile names (letters, digits and"
                              " hyphens, at most 63) and the same as each person's source identity")
        if workbench == "studio" and not people.data_scientists:
            raise ConfigError("workbench='studio' needs the data scientists' names in PeopleConfig.data_scientists"
                              " (one user profile each)")
        if workbench == "studio" and self.workloads.notebook_idle_minutes < 60:
            raise ConfigError(f"notebook_idle_minutes={self.workloads.notebook_idle_minutes} is below Studio's"
                              " idle shutdown minimum of 60; raise it to 60 or more")

    @property
    def prefix(self) -> str:
        """Prefix of this environment's SageMaker resource names, e.g. ``mlp-dev``."""
        return f"{self.project}-{self.name}"

    @property
    def pipeline_name(self) -> str:
        return f"{self.prefix}-xgboost-training"

    @property
    def batch_scoring_pipeline_name(self) -> str:
        return f"{self.prefix}-batch-scoring"

    @property
    def glue_database_name(self) -> str:
        """Glue and Athena names take lowercase letters, digits and ``_``: ``mlp_dev_raw``."""
        return f"{self.project}_{self.name}_raw".replace("-", "_")

    @property
    def athena_workgroup_name(self) -> str:
        return f"{self.prefix}-preprocess"

    @property
    def endpoint_name(self) -> str:
        """The stable name callers invoke, whatever model version it serves."""
        return f"{self.prefix}-xgboost"

    @property
    def data_capture_prefix(self) -> str:
        """Where a real-time endpoint captures requests in the model bucket; SageMaker adds
        ``<endpoint>/<variant>/yyyy/mm/dd/hh/`` below it."""
        return f"{DATA_CAPTURE_PREFIX}{self.endpoint_name}"

    @property
    def monitoring_pipeline_name(self) -> str:
        return f"{self.prefix}-monitoring"

    @property
    def monitoring_uri(self) -> str:
        """What every monitoring run downloads: the served version's baseline and the uploaded labels."""
        return f"s3://{self.bucket_name('models')}/{MONITORING_PREFIX}{self.endpoint_name}/"

    @property
    def scored_data_uri(self) -> str:
        """What the scheduled run reads as scored: the endpoint's capture (real-time) or batch scoring."""
        if self.workloads.endpoint_mode == "real-time":
            return f"s3://{self.bucket_name('models')}/{self.data_capture_prefix}/"
        return f"s3://{self.bucket_name('models')}/{BATCH_SCORING_PREFIX}/"

    @property
    def alert_topic_arn(self) -> str:
        """The platform's alert topic (registry stack), by its fixed name: no cross-stack export."""
        return self.arn("sns", f"{self.prefix}-alerts")

    @property
    def model_package_group_name(self) -> str:
        return f"{self.prefix}-xgboost"

    def bucket_name(self, purpose: str) -> str:
        """Deterministic bucket names let IAM policies name exact ARNs without cross-stack imports."""
        return f"{self.prefix}-{purpose}-{self.account}-{self.region}"

    def arn(self, service: str, resource: str) -> str:
        """An ARN in this environment's account and region (S3 and IAM ARNs have neither)."""
        if service == "s3":
            return f"arn:aws:s3:::{resource}"
        if service == "iam":
            return f"arn:aws:iam::{self.account}:{resource}"
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"

    def role_name(self, purpose: str) -> str:
        """Roles have fixed names so that key and bucket policies of the data stack
        can name the roles of stacks deployed after it, without a reference cycle."""
        return f"{self.prefix}-{purpose}"

    def role_arn(self, purpose: str) -> str:
        return self.arn("iam", f"role/{self.role_name(purpose)}")

    @property
    def key_admin_role_arn(self) -> str:
        return self.perimeter.key_admin_role_arn or self.role_arn("key-admin")

    @property
    def break_glass_role_arn(self) -> str:
        return self.perimeter.break_glass_role_arn or self.role_arn("break-glass")

    @property
    def permissions_boundary_arn(self) -> str:
        """The boundary every role of the platform carries (``constructs/permissions_boundary.py``);
        a fixed name, so that every stack names it without a cross-stack reference."""
        return self.arn("iam", f"policy/{self.prefix}-permissions-boundary")

    @property
    def deployer_role_arn(self) -> str:
        """The CloudFormation execution role that ``cdk bootstrap`` creates."""
        qualifier = self.perimeter.cdk_qualifier
        return self.arn("iam", f"role/cdk-{qualifier}-cfn-exec-role-{self.account}-{self.region}")

    def _named_perimeter_roles(self) -> list[str]:
        p = self.perimeter
        return [a for a in (p.key_admin_role_arn, p.break_glass_role_arn, *p.raw_data_writer_role_arns) if a]

    def stack_name(self, unit: str) -> str:
        return f"MlPlatform-{self.name}-{unit}"


@dataclass(frozen=True, kw_only=True)
class DeliveryConfig:
    """CD for the platform itself: the CDK Pipelines stack of ``cdk synth -c delivery=true``.

    The pipeline lives in ``account`` (a tooling account, or dev's) and deploys
    ``dev``, then, after a manual approval, ``prod``, each into its account
    below (the same account or separate ones). Another account
    must trust this one: ``cdk bootstrap aws://<target>/<region> --trust <account>
    --cloudformation-execution-policies <policy ARN>``. Accounts are fields, not
    context: the pipeline deploys what the reviewed configuration names.
    """

    #: Account and region of the pipeline itself.
    account: str = PLACEHOLDER_ACCOUNT
    region: str = "us-east-1"
    #: AWS CodeConnections connection (GitHub, GitLab or Bitbucket), created and
    #: authorised once in the console; the placeholder deploys nowhere.
    connection_arn: str = (
        f"arn:aws:codeconnections:us-east-1:{PLACEHOLDER_ACCOUNT}:connection/00000000-0000-0000-0000-000000000000"
    )
    #: ``owner/name`` of the repository the connection reads, and its branch.
    repository: str = "example-org/sagemaker-ml-platform"
    branch: str = "main"
    #: Read the source from this CodeCommit repository instead of the connection
    #: (CodeCommit's onboarding of new customers has been restricted at times).
    codecommit_repository: str | None = None
    #: Accounts of the environments the pipeline deploys (dev first, prod after approval).
    dev_account: str = PLACEHOLDER_ACCOUNT
    prod_account: str = PLACEHOLDER_ACCOUNT

    def __post_init__(self) -> None:
        for name in ("account", "dev_account", "prod_account"):
            if not re.fullmatch(r"\d{12}", getattr(self, name)):
                raise ConfigError(f"DeliveryConfig.{name} {getattr(self, name)!r} must be a 12-digit AWS account ID")
        if not re.fullmatch(r"arn:aws:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[\w-]+",
                            self.connection_arn):
            raise ConfigError(f"DeliveryConfig.connection_arn {self.connection_arn!r} is no CodeConnections ARN"
                              " (arn:aws:codeconnections:<region>:<account>:connection/<id>)")
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", self.repository):
            raise ConfigError(f"DeliveryConfig.repository {self.repository!r} must be owner/name")

    @property
    def cross_account(self) -> bool:
        return len({self.account, self.dev_account, self.prod_account}) > 1


DELIVERY = DeliveryConfig()


def _zones(region: str, count: int) -> tuple[str, ...]:
    return tuple(f"{region}{letter}" for letter in "abc"[:count])


ENVIRONMENTS: dict[str, PlatformConfig] = {
    # dev: one AZ's worth of endpoints would break SageMaker's two-subnet
    # minimum for some features, so two AZs; short retention; cheap.
    "dev": PlatformConfig(
        name="dev",
        # Nothing that bills by the hour while nobody works: jobs run isolated
        # outside the VPC, and the workbench brings its endpoints only while deployed.
        network=NetworkConfig(
            availability_zones=_zones("us-east-1", 2),
            flow_log_retention_days=30,
            jobs_in_vpc=False,
            interface_endpoints=(),
        ),
        workloads=WorkloadConfig(endpoint_mode="serverless"),
        tags=(("CostCenter", "ml-platform"), ("Environment", "dev")),
    ),
    "prod": PlatformConfig(
        name="prod",
        network=NetworkConfig(
            cidr="10.41.0.0/16", availability_zones=_zones("us-east-1", 3), flow_log_retention_days=365
        ),
        data=DataConfig(noncurrent_version_expiration_days=90),
        # Two instances minimum: a canary of 25% needs a fleet to be a part of,
        # and one instance per AZ keeps serving through an AZ outage.
        workloads=WorkloadConfig(endpoint_mode="real-time", min_instances=2, max_instances=4),
        # Two ml.m5.large endpoint instances around the clock are about $170 of it.
        budget=BudgetConfig(monthly_limit_usd=500.0),
        tags=(("CostCenter", "ml-platform"), ("Environment", "prod")),
    ),
}


def load(env_name: str, *, account: str | None = None, region: str | None = None) -> PlatformConfig:
    """The named environment, with account/region overrides from the command line."""
    try:
        config = ENVIRONMENTS[env_name]
    except KeyError:
        raise ConfigError(
            f"unknown environment {env_name!r}; choose one of {sorted(ENVIRONMENTS)} with -c env=NAME"
        ) from None
    if region and region not in AWS_REGIONS:
        raise ConfigError(
            f"region {region!r} is not an AWS region; use one of the aws partition's, e.g. -c region=eu-west-1"
            f" (known: {', '.join(AWS_REGIONS)})"
        )
    if region and region != config.region:
        zones = _zones(region, len(config.network.availability_zones))
        config = replace(config, region=region, network=replace(config.network, availability_zones=zones))
    if account:
        config = replace(config, account=account)
    return config


def from_context(context: Mapping[str, object]) -> PlatformConfig:
    """The configuration ``cdk synth -c KEY=VALUE`` asks for, every value checked where it enters.

    Environments other than dev need ``account``: the placeholder account would
    render templates that deploy nowhere, or into whichever account is at hand.
    """
    env = _text(context, "env") or "dev"
    account, region = _text(context, "account"), _text(context, "region")
    config = load(env, account=account, region=region)
    if env != "dev" and not account:
        raise ConfigError(
            f"environment {env!r} needs its AWS account: add -c account=<12-digit account ID>"
            f" (only dev synthesizes with the placeholder account {PLACEHOLDER_ACCOUNT})"
        )
    # The approved model version to serve: cdk deploy -c model_package_version=N
    version = context.get("model_package_version")
    if version is not None:
        if isinstance(version, bool) or not re.fullmatch(r"[1-9][0-9]{0,9}", str(version)):
            raise ConfigError(
                f"model_package_version {version!r} must be a version number (1, 2, ...), a whole number:"
                " -c model_package_version=N"
            )
        config = replace(config, workloads=replace(config.workloads, model_package_version=int(str(version))))
    return config


def delivery_from_context(context: Mapping[str, object]) -> bool:
    """``-c delivery=true``: synthesize the delivery pipeline (stacks/delivery_stack.py) instead of one environment."""
    value = context.get("delivery")
    if value in (None, "", False, "false"):
        return False
    if value in (True, "true"):
        return True
    raise ConfigError(f"context delivery={value!r} must be true or false: -c delivery=true")


def delivery_environments(delivery: DeliveryConfig) -> tuple[PlatformConfig, PlatformConfig]:
    """The dev and prod the pipeline deploys, in the accounts ``delivery`` names."""
    return load("dev", account=delivery.dev_account), load("prod", account=delivery.prod_account)


def _text(context: Mapping[str, object], key: str) -> str | None:
    """A context value given as text (``-c key=value``); an empty value counts as not given."""
    value = context.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):  # a number in cdk.json
        return str(value)
    if not isinstance(value, str):
        raise ConfigError(f"context {key}={value!r} must be text (-c {key}=...)")
    return value
