"""UI descriptors: the YAML files that tell the UI which jobs, automations, settings and charts
exist and how to show them."""
