"""Reading the cluster's logs and publishing new entries (behaviour §3.5)."""
