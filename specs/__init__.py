"""The specification in English and the JSON Schemas, shipped as package data.

Installed as ``dynmem.specs`` (pyproject's package-dir) so that a wheel carries the pages and
schemas that error messages and reports cite; ``dynmem specs --path`` prints where they are.
"""
