"""The training job: hyperparameters, channels, cluster, data, boosting, outputs.

``train.py`` calls :func:`run`; everything here reads the container contract
through :mod:`smxgb.env`, so it runs unchanged under the local runner.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

from smxgb import data as chdata
from smxgb import env, hyperparams, labels
from smxgb.distributed import TRACKER_PORT_ENV, Cluster, collective
from smxgb.failure import UserError

# XGBoost (which imports scikit-learn) takes seconds to import, so the
# modules that need it load only after hyperparameters and data passed their
# checks: a user error fails fast.

TRAIN, VALIDATION, TEST = "train", "validation", "test"
DEFAULT_TRACKER_PORT = 9099


def _declared_content_types() -> dict[str, str]:
    raw = os.environ.get(env.SM_INPUT_DATA_CONFIG)
    if raw:
        config = json.loads(raw)
    else:
        path = env.path(env.SM_INPUT_CONFIG_DIR) / "inputdataconfig.json"
        config = json.loads(path.read_text()) if path.is_file() else {}
    return {name: spec.get("ContentType") for name, spec in config.items() if spec.get("ContentType")}


def open_channels(hps: dict[str, Any]) -> dict[str, chdata.Channel]:
    declared = _declared_content_types()
    channels = {}
    for name in (TRAIN, VALIDATION, TEST):
        directory = env.channel_dir(name)
        if directory is None:
            if name == TRAIN:
                raise UserError(
                    "the 'train' channel is missing: the job needs input data under SM_CHANNEL_TRAIN; add a "
                    "'train' input channel to the training job"
                )
            continue
        content_type = hps.get("content_type") or declared.get(name)
        channels[name] = chdata.open_channel(name, directory, content_type)
    return channels


def tracker_port(hps: dict[str, Any]) -> int:
    return int(hps.get("tracker_port") or os.environ.get(TRACKER_PORT_ENV) or DEFAULT_TRACKER_PORT)


def _score_test(booster, channel: chdata.Channel, built, nthread: int, rule=None) -> dict[str, float]:
    """The final model's metrics on the test channel (all-reduced over hosts when distributed)."""
    import xgboost as xgb

    from smxgb import matrices

    loaded = chdata.load_channel(channel, built.n_features, names=built.feature_names, rule=rule)
    dtest = xgb.QuantileDMatrix(
        matrices.BatchIter(matrices.memory_batches(loaded)), ref=built.train, nthread=nthread
    )
    # eval_set answers "[0]\ttest-auc:0.98\ttest-logloss:0.1"
    scores = {}
    for field in booster.eval_set([(dtest, TEST)]).split("\t")[1:]:
        name, _, value = field.partition(":")
        scores[name.replace("-", ":", 1)] = float(value)
    print("test: " + ", ".join(f"{k}={v:.8g}" for k, v in scores.items()), flush=True)
    return scores


def run(argv: Sequence[str]) -> dict[str, Any]:
    started = time.perf_counter()
    hps = hyperparams.from_argv_and_env(argv, os.environ.get(env.SM_HPS))
    channels = open_channels(hps)
    cluster = Cluster(env.hosts(), env.current_host())
    nthread = int(hps.get("nthread") or env.num_cpus())
    train_channel, valid_channel = channels[TRAIN], channels.get(VALIDATION)
    if hps.get("early_stopping_rounds") and valid_channel is None:
        raise UserError(
            "hyperparameter early_stopping_rounds needs a validation channel to watch; add a 'validation' "
            "channel or remove early_stopping_rounds"
        )
    rule = labels.rule_for(hps["objective"], hps.get("num_class"))
    mode = chdata.choose_mode([c for c in (train_channel, valid_channel) if c], hps["data_mode"])
    print(
        f"job: host {cluster.current_host} ({cluster.rank + 1}/{cluster.size}), data mode {mode}, "
        f"train {len(train_channel.files)} {train_channel.content_type} file(s)",
        flush=True,
    )
    load_started = time.perf_counter()
    if mode == chdata.MEMORY:
        # Read before joining the other hosts: a bad file then fails this host
        # at once instead of leaving the others waiting on the collective.
        loaded = chdata.load_channel(train_channel, rule=rule)
        loaded_valid = (
            chdata.load_channel(valid_channel, loaded.n_features, names=loaded.feature_names, rule=rule)
            if valid_channel
            else None
        )
    # The test channel is only scored once at the end, so it is read then, but
    # checked now: a bad test file should not cost a whole training run.
    test_channel = channels.get(TEST)
    read_seconds = time.perf_counter() - load_started

    from smxgb import matrices, outputs, trainer

    params = trainer.booster_params(hps, num_gpus=env.num_gpus(), nthread=nthread)
    with collective(cluster, tracker_port(hps), hps["tracker_timeout"]):
        build_started = time.perf_counter()
        if mode == chdata.EXTERNAL:
            built = matrices.build_external(
                train_channel, valid_channel, max_bin=hps.get("max_bin"), nthread=nthread, rule=rule
            )
        else:
            built = matrices.build_in_memory(
                loaded,
                loaded_valid,
                max_bin=hps.get("max_bin"),
                nthread=nthread,
                cuts_sample_rows=hps["cuts_sample_rows"],
                seed=hps.get("seed", 0),
                distributed=cluster.is_distributed,
            )
        build_seconds = time.perf_counter() - build_started
        load_seconds = read_seconds + build_seconds
        if mode == chdata.MEMORY:
            del loaded, loaded_valid  # the quantised matrices hold what training needs
        for note in built.notes:
            print(f"data: {note}", flush=True)
        print(
            f"data: {built.n_train_rows} train rows, {built.n_validation_rows} validation rows, "
            f"{built.n_features} features in {load_seconds:.2f} s",
            flush=True,
        )
        try:
            result = trainer.train(
                params,
                built.train,
                built.validation,
                num_round=hps["num_round"],
                early_stopping_rounds=hps.get("early_stopping_rounds"),
                checkpoint_dir=env.checkpoint_dir(),
                checkpoint_frequency=hps["checkpoint_frequency"],
                checkpoints_to_keep=hps["checkpoints_to_keep"],
                write_checkpoints=cluster.is_leader,
            )
            test_metrics = _score_test(result.booster, test_channel, built, nthread, rule) if test_channel else {}
        finally:
            built.remove_cache()
    # What evaluation needs to compare the approaches travels with the model itself, so the
    # artifact of any trial says which approach made it and how it scored round by round.
    outputs.describe_model(result.booster, hps, result.history)
    report = {
        "approach": hps["approach"],
        "hyperparameters": hps,
        "final": outputs.final_metrics(result.history),
        "test": test_metrics,
        "best_iteration": result.best_iteration,
        "best_score": result.best_score,
        "num_boosted_rounds": result.booster.num_boosted_rounds(),
        "resumed_from": result.resumed_from,
        "resumed_rounds": result.resumed_rounds,
        "data": {
            "mode": built.mode,
            "train_rows": built.n_train_rows,
            "validation_rows": built.n_validation_rows,
            "features": built.n_features,
            "notes": built.notes,
        },
        "hosts": cluster.hosts,
        "seconds": {
            "read": round(read_seconds, 3),
            "build": round(build_seconds, 3),
            "load_and_build": round(load_seconds, 3),
            "train": round(result.train_seconds, 3),
            "train_cpu": round(result.train_cpu_seconds, 3),
            "total": round(time.perf_counter() - started, 3),
        },
    }
    if cluster.is_leader:
        # One writer: every host holds the same model, and they share the S3 output.
        model_path = outputs.save_model(result.booster, env.path(env.SM_MODEL_DIR))
        outputs.package_serving_code(env.path(env.SM_MODEL_DIR))
        output_data = env.path(env.SM_OUTPUT_DATA_DIR)
        outputs.write_metrics(output_data, report)
        outputs.write_feature_importance(result.booster, output_data)
        outputs.write_training_curve(result.history, output_data)
        print(f"job: model saved to {model_path} ({result.booster.num_boosted_rounds()} rounds)", flush=True)
    return report


