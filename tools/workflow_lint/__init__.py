"""actionlint over the repository's GitHub Actions workflows (``python -m tools.workflow_lint``)."""
