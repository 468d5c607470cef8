"""One module per benchmark case; each exposes ``run(budget) -> list[timing.Row]``."""
