"""jobmanager: run notebook models as jobs, compatible with the Insights Hub Job Manager v3 API."""

__version__ = "0.1.0"
