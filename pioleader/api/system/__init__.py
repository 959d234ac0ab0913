"""Unit-level operations across the cluster: blink, bioreactor values, capabilities, versions,
power, repair and clocks."""
