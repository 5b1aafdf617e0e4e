from jobmanager.domain.messages import chain, then

BUSY = "An environment has already been started for the configuration"


def test_chain_nests_causes_in_brackets() -> None:
    assert chain("Failed to start environment", BUSY) == f"Failed to start environment [{BUSY}]"
    assert chain("A", "B", "C") == "A [B [C]]"
    assert chain("A") == "A"


def test_then_joins_two_failures() -> None:
    assert (
        then(chain("Unable to import model", "bad json"), "Error while stopping environment")
        == "Unable to import model [bad json] Error while stopping environment"
    )
