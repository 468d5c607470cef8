"""Safe evaluation of a one-line formula such as ``exp(sin(x**2))`` on chainrule tensors:
only numbers, the named variables, arithmetic and chainrule's elementwise functions.
Numbers are floats, so ``9**9**9**9`` overflows at once instead of growing an integer of
billions of digits."""
from __future__ import annotations

import ast
import operator

from .. import ops

FUNCTIONS = {name: getattr(ops, name) for name in (
    "exp", "log", "log1p", "expm1", "sqrt", "square", "reciprocal", "sin", "cos", "tan",
    "tanh", "sigmoid", "relu", "softplus", "gelu", "abs", "erf", "elu", "leaky_relu")}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def evaluate(text: str, variables: dict):
    """The value of ``text`` with ``variables`` (name -> Tensor); anything else is refused.

    >>> import chainrule as cr
    >>> round(evaluate("exp(sin(x**2))", {"x": cr.tensor(0.0)}).item(), 6)
    1.0
    """
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        raise ValueError(f"--expr: {text!r} is not a formula ({err.msg})") from None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)  # an int could grow without bound under **
        if isinstance(node, ast.Name) and node.id in variables:
            return variables[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in FUNCTIONS and not node.keywords):
            return FUNCTIONS[node.func.id](*[ev(a) for a in node.args])
        raise ValueError(f"--expr: {ast.unparse(node)!r} is not allowed (use numbers, the "
                         f"variables {sorted(variables)}, + - * / ** and "
                         f"{', '.join(sorted(FUNCTIONS))})")

    try:
        return ev(tree)
    except OverflowError:
        raise ValueError(f"--expr: {text!r} overflows (a number in it is beyond the float "
                         "range, about 1.8e308)") from None
