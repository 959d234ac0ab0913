"""The UI's chart selection per experiment (``/api/experiments/{experiment}/chart_preferences``)."""
