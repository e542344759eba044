"""Importable, and never to be imported by a message naming it (the security test checks sys.modules)."""

raise RuntimeError("a message made the consumer import this module")
