"""Built-in tasks. Each module or package here registers itself with `bench.registry.register_task`."""
