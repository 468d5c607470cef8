"""``cr.linalg``: linear-algebra functions (inv, solve, det, slogdet, cholesky) land here."""
