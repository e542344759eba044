"""Producing: :mod:`.producer` (validated, encoded once, batched, S3 pointers when too large) and
:mod:`.queues` (a queue named by URL, or by a name that a stage prefixes)."""
