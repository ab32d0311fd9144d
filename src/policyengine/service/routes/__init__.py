"""The service's routes, one module per group: health, packages, evaluate, decisions (and runs), jobs, web."""
