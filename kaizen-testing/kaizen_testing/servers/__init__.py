"""Real servers started on loopback for integration tests."""
