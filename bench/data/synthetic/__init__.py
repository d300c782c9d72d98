"""Building blocks of the embedded synthetic datasets: signal primitives (`blocks`) and class-typical sound recipes (`sounds`)."""
