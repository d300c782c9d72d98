"""Built-in solutions. Each module registers itself with `bench.registry.register_solution`."""
