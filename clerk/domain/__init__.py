"""The vocabulary of the clerk: models, ids, periods, formulas, numbers in text. Pure, no I/O."""
