"""The only package that imports Django: setup, the loader, state replay, the writer and
the optimizer."""
