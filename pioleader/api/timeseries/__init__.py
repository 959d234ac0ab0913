"""Time series of an experiment, downsampled on the leader (behaviour §3.6, §4)."""
