"""``make demo``: synth with every check, deploy to the local emulator, run the pipeline, serve, destroy."""
