"""Finding workers on the network and adding them to the cluster."""
