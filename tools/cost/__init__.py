"""`make cost`: what an environment costs idle, and what one pipeline run costs, from its templates."""
