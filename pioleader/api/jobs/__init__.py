"""Job control across the cluster: run, list, stop, update and read the settings of jobs."""
