"""Typed step results: the parse stage of render → run → parse."""
