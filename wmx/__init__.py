"""wmx: deploy and run a complete Matrix chat service for Wikimedia communities."""

__version__ = "0.1.0"
