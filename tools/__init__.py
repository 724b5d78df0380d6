"""Developer and test tooling that is not part of the deployed platform."""
