"""Datasets: the registry and seeded split (`datasets`), and the on-disk formats it reads."""
