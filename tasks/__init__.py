"""Built-in tasks. Each module or package here registers itself with `bench.core.registry.register_task`."""
