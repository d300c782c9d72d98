"""The contracts and the plumbing every layer uses.

Holds the Task and Solution contracts (`contracts`), typed configs (`config`), the
registries (`registry`), the task kinds (`kinds`: what classification, regression and
generation each decide), the metric registry (`metrics`), atomic file writes,
progress display and the worker pool. Imports nothing from bench but itself: every
other package may import it.
"""
