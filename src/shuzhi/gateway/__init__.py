"""The model base (the "1"): one gateway for every model call. Public API is filled in below."""
