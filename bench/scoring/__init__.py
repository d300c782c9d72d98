"""Scoring generated audio: embeddings, distances with their controls, classifier scores; `bench score-audio`.

`clipsets` reads the clips to compare (a folder, optional `<class>/` subfolders, or a
task's folds), `embeddings/` turns clips into one vector each (one module per
embedding, found by name), `controls` builds the reference sets every score is read
against (real-vs-real halves, the vocoder floor, noise and silence ceilings, shuffled
labels), `suite` computes the distances of `bench.core.distances` and
`bench.core.neighbours` for a score record, `classifiers` scores with classifiers
(GAN-test, train-on-generated-test-on-real), and `command` is the CLI. May import
every layer up to `bench.run` (a `run:` embedding loads a finished run), never
`bench.tuning` or the CLI.
"""
