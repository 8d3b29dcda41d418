"""Operator tools, run from the repository with the project's environment: python -m scripts.X"""
