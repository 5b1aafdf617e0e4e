"""The web app: the API and the console, mounted on one FastAPI app."""
