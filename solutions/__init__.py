"""Built-in solutions. Each module registers itself with `bench.core.registry.register_solution`."""
