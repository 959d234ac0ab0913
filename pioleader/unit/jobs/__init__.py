"""Background jobs: the contract every job keeps (``base``) and the jobs a unit can run."""
