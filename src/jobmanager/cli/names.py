"""What the client commands show beside an id: the name of the model or configuration."""

from __future__ import annotations

from collections.abc import Callable

from jobmanager.client import Client, NotFoundError


class Names:
    """`name (id)` of the models and configurations jobs name by id, each looked up once;
    the id alone for one deleted since."""

    def __init__(self, api: Client) -> None:
        self.api = api
        self._known: dict[str, str] = {}

    def model(self, model_id: str) -> str:
        return self._named(model_id, lambda: self.api.get_model(model_id).name)

    def configuration(self, configuration_id: str) -> str:
        return self._named(
            configuration_id, lambda: self.api.get_configuration(configuration_id).name
        )

    def _named(self, identifier: str, name: Callable[[], str]) -> str:
        if identifier not in self._known:
            try:
                self._known[identifier] = f"{name()} ({identifier})"
            except NotFoundError:
                self._known[identifier] = identifier
        return self._known[identifier]
