"""Fitting: the epoch loop, the torch solution base, callbacks, augmentation, checkpoints.

`trainer` is the loop every torch solution shares (checkpoints, resume, early stop by
the task's metric), `callbacks` the protocol through which augmentation and tuning
hook into it, `torch_solution` the base class of the torch solutions, `devicedata`
keeps features on the device, `checkpoint` saves and restores state. May import
`bench.core`, `bench.data` and `bench.protocols`.
"""
