"""The HTTP layer: parse, authorize, call the store and domain, shape the answer."""
