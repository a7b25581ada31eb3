"""Older module name of ``broker`` / ``host`` (kept for imports that use it)."""
from .broker import BrokerSender, SubscriptionHandler
from .host import LlmStream

__all__ = ["BrokerSender", "LlmStream", "SubscriptionHandler"]
