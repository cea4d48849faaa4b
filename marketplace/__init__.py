"""The computing power marketplace: one program, run as every node of the federation."""

from .factory import create_app, is_national

__all__ = ["create_app", "is_national"]
