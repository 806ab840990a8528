"""The ``rekap`` command line for operators."""
