"""What callers of the service do, once for the API, the console and `jobmanager doctor`."""
