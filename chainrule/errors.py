"""The exceptions chainrule raises on purpose; each message names the op, nodes and shapes."""


class ChainruleError(Exception):
    """Base class of chainrule's own errors."""


class ShapeError(ChainruleError, ValueError):
    """Operands of an op have incompatible shapes."""


class GraphFreedError(ChainruleError, RuntimeError):
    """A backward pass reached a node whose saved values were already released."""


class AnomalyError(ChainruleError, FloatingPointError):
    """Under ``detect_anomaly()``, an op produced NaN or Inf in its forward or backward."""


class LinAlgError(ChainruleError, ValueError):
    """A matrix function met a matrix it is undefined for (singular, not positive definite)."""


class GradcheckError(ChainruleError, AssertionError):
    """Analytic and numerical derivatives disagree."""


def describe(t) -> str:
    """``name (shape (2, 3), float32)`` for messages; unnamed tensors say so."""
    label = t.name if getattr(t, "name", None) else "unnamed tensor"
    return f"{label} (shape {tuple(t.shape)}, {t.dtype})"
