"""The model card registered with the model version (``CreateModelPackage``'s ``ModelCard``).

``ModelCardContent`` is a JSON string following SageMaker's *model package
model card schema* (model_overview with model_creator and model_artifact,
intended_uses, training_details, evaluation_details, additional_information;
no model_package_details). The evaluation step writes it, because only
evaluation knows which approach won and why; the RegisterModel step reads it
from the ``ModelCard`` property file (``content``) with JsonGet.
"""

from __future__ import annotations

import json
from pathlib import Path

MODEL_CARD_FILE_NAME = "model-card.json"
CONTENT_PATH = "content"
#: The approver reviews the card before approving the version.
STATUS = "PendingReview"
_FACETS = {"auc": "AUC", "accuracy": "Accuracy", "rmse": "RMSE"}
_TEXT = 2048  # the schema's maxLength of most free-text fields
_NOTE = 1024


def _clip(text: str, limit: int = _TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(name: str, value, notes: str = "") -> dict:
    entry = {"name": name[:255], "type": "number", "value": float(value)}
    if notes:
        entry["notes"] = _clip(notes, _NOTE)
    return entry


def content(result: dict, *, problem_type: str, features: int, label: str, model_uri: str, datasets: dict[str, str],
            creator: str) -> dict:
    """The card's content (a dict; serialise with :func:`to_json`)."""
    verdict, rows = result["verdict"], result["approaches"]
    objective, winner = verdict["objective"], verdict["winner"]
    why = result["sentence"]
    best = rows[winner]
    groups = []
    for name, row in rows.items():
        metrics = [_number(f"test {k}", v) for k, v in sorted(row["test"].items()) if v is not None][:20]
        for label_, key in (("train", "train_objective"), ("validation", "validation_objective"),
                            ("train - validation gap", "train_validation_gap")):
            if row[key] is not None:
                metrics.append(_number(f"{label_} {objective}", row[key]))
        metrics.append(_number("latency ms per 1000 rows", row["latency_ms_per_1000_rows"]))
        metrics.append(_number("model size bytes", row["model_size_bytes"]))
        groups.append({"name": name[:63], "metric_data": metrics})
    hyperparameters = [{"name": str(k)[:255], "value": str(v)[:255]} for k, v in sorted(best["hyperparameters"].items())
                       if str(v)][:100]
    gap = best["train_validation_gap"]
    caveats = (
        f"Scores come from one seeded train/validation/test split of the data under {datasets.get('train', '?')}; "
        "a different population (drift) invalidates them, which is why each version carries a drift baseline and "
        "production is checked against it. "
        + (f"The chosen model scores {gap:+.4f} {objective} higher on its training rows than on validation "
           "(a large gap means it memorised rows). " if gap is not None else "")
        + "The decision threshold is 0.5 for binary classification; choose yours from the precision-recall plot "
          "in the evaluation output. Not for decisions about people without a fairness review of the features."
    )
    card = {
        "model_overview": {"model_creator": _clip(creator, _NOTE), "model_artifact": [model_uri]},
        "intended_uses": {
            "purpose_of_model": _clip(f"Score tabular rows of {features} numeric features for "
                                      f"{problem_type.replace('_', ' ')} of the label '{label}'."),
            "intended_uses": "Batch or real-time scoring through the platform's endpoint, CSV rows in the "
                             "training column order without the label; a human approves each version.",
            "factors_affecting_model_efficiency": "Feature distributions moving away from the training split's "
                                                  "(see the registered drift baseline), missing values, and "
                                                  "columns in another order.",
            "risk_rating": "Medium",
            "explanations_for_risk_rating": "Automated scores reach a person only after manual approval of the "
                                            "version; nothing here was reviewed for fairness.",
        },
        "training_details": {
            "objective_function": {
                "function": {"function": "Maximize" if verdict["higher_is_better"] else "Minimize",
                             "facet": _FACETS.get(objective, objective)[:63], "condition": "validation set"[:63]},
                "notes": _clip(f"Tuned on validation {objective}; one tuning job compared the approaches "
                               f"{', '.join(n for n in rows if n != 'baseline')}.", _NOTE),
            },
            "training_observations": _clip(f"Approach chosen: {winner}. {why}.", _NOTE),
            "training_job_details": {
                "training_datasets": [uri for key, uri in datasets.items() if key in ("train", "validation")],
                "hyper_parameters": hyperparameters,
                # training_metric entries are name and value (and notes): no type, unlike metric_data
                "training_metrics": [{"name": f"{split} {objective}", "value": float(best[key])}
                                     for split, key in (("validation", "validation_objective"),
                                                        ("train", "train_objective")) if best[key] is not None],
            },
        },
        "evaluation_details": [{
            "name": "held-out test set",
            "evaluation_observation": _clip(why, 2096),
            "datasets": [datasets["test"]] if "test" in datasets else [],
            "metadata": {"approach_chosen": winner, "objective": objective},
            "metric_groups": groups,
        }],
        "additional_information": {
            "caveats_and_recommendations": _clip(caveats),
            "custom_details": {"approach": winner, "why": _clip(why, _NOTE),
                               "plots": _clip(", ".join(result.get("plots", [])), _NOTE)},
        },
    }
    return card


def to_json(card: dict) -> str:
    return json.dumps(card, sort_keys=True, separators=(",", ":"))


def write(card: dict, output_dir: Path) -> Path:
    """The property file the RegisterModel step reads: ``{"content": "<card JSON>", "status": ...}``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / MODEL_CARD_FILE_NAME
    target.write_text(json.dumps({CONTENT_PATH: to_json(card), "status": STATUS}, indent=2) + "\n")
    return target
