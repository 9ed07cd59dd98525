"""Internals of :mod:`signing`; not a public interface."""
