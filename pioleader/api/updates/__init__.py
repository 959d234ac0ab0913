"""Software updates and uploads to the leader."""
