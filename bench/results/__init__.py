"""What a finished run leaves: the typed result record, the leaderboard, paired comparisons.

`record` is the versioned `result.json` (RunResult/FoldResult), `leaderboard` appends
to and ranks `leaderboard.csv`, `compare` tests two runs fold by fold. Reads records;
never runs anything. May import `bench.core` and the layers below `bench.train`
(not `bench.run`).
"""
