"""Where data enters poolstream: the Stratum V1 gateway (`sources/stratum/`) and the fleet simulator (`sources/simulate/`)."""
