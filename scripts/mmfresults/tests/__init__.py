"""unittest modules of the results package (CTest label `scripts`)."""
