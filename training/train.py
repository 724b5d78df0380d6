"""SageMaker script-mode entry point for XGBoost training.

The container runs ``python train.py --num_round 100 --eta 0.3 ...`` with
the source directory as the working directory. All logic lives in ``smxgb``.
"""

import sys

from smxgb import job
from smxgb.failure import run_main


def main() -> None:
    job.run(sys.argv[1:])


if __name__ == "__main__":
    run_main(main)
