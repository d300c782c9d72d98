"""One run from settings to record: resolve, prepare features, evaluate splits, assemble, predict.

`resolve` checks the settings before any work, `prepare` extracts every clip's
features once per run, `evaluate` fits, scores and records one split (the runner and
tuning both call it), `assemble` builds the run's record and leaderboard row,
`runner` drives a run, `folders` owns the run folders, `combine` joins fold subsets,
`predict` uses a finished run's models. May import every layer below it (core, data,
protocols, train, results, report), never `bench.tuning` or the CLI.
"""
