"""How a task turns its data into rounds and what it hands in: splits, cross-validation, submission.

`loading` reads a task's real data or writes and reads its embedded synthetic data,
`splits` draws validation sets and refuses group leakage, `crossval` is the base of
the publisher-fold tasks (any kind), `submission` writes and validates submission
files. May import `bench.core` and `bench.data`.
"""
