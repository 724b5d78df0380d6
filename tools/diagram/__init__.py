"""The architecture diagram, generated from the cloud assembly (``python -m tools.diagram``)."""
