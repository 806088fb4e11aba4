"""借呗解读助手 credit-assistant: explains 借呗 closures and limit cuts, offline, from a sourced
knowledge base and the user's own facts.

    from assistant import Assistant
    bot = Assistant.load()
    advice = bot.ask("芝麻分630从未逾期,借呗被关了")

Names are imported on first use, so `import assistant` stays cheap and never imports Textual.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Advice", "Assistant", "Conversation", "__version__"]


def __getattr__(name: str):
    if name == "Assistant":
        from .core import Assistant
        return Assistant
    if name == "Conversation":
        from .conversation import Conversation
        return Conversation
    if name == "Advice":
        from .advice import Advice
        return Advice
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
