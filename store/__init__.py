"""The memory: shared types, schema, and tenant-scoped queries. Imports nothing of ours."""
