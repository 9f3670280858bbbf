"""policyqa: cited question answering over Chinese government policy texts."""

__version__ = "0.1.0"
