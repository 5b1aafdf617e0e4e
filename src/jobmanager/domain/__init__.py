"""The rules of the service: pure logic, no I/O, importing nothing of the project but itself."""
