"""HTTP surface: the OpenAI-compatible ``/v1`` and the management ``/api``."""

from shuzhi.api.app import create_app

__all__ = ["create_app"]
