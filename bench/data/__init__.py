"""From files to features: decoding, checks, the frontend, the feature cache, fetching.

`audio` decodes, `frontend` turns a waveform into log-mel/MFCC features, `features`
extracts them for many files through `cache`; `check` runs the per-file checks of
`bench data check`, `fetch` and `sources` download the publishers' archives, and
`synthetic/` holds the building blocks of the embedded generators. May import
`bench.core` only.
"""
