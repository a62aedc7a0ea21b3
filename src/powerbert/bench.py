"""`powerbert bench`: placeholder until the benchmark lands."""


def add_bench_parser(commands) -> None:
    pass
