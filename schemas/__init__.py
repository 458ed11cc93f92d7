"""The data contract: Arrow schemas of every table, vocabularies and the pitch template.

This package imports nothing else of the project.
"""

from schemas.tables import SCHEMAS
from schemas.validate import SchemaError, from_rows, read_table, validate, write_table

__all__ = ["SCHEMAS", "SchemaError", "from_rows", "read_table", "validate", "write_table"]
