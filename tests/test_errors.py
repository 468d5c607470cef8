"""Bad input gets a clear error that names the op, the nodes and the shapes, and changes
nothing."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def test_shape_mismatch_names_op_nodes_and_shapes():
    a = cr.tensor(np.ones((2, 3)), requires_grad=True, name="a")
    b = cr.tensor(np.ones((4,)), name="b")
    with pytest.raises(cr.ShapeError) as err:
        a + b
    msg = str(err.value)
    assert "add" in msg and "a (shape (2, 3)" in msg and "b (shape (4,)" in msg
    with pytest.raises(cr.ShapeError, match=r"matmul: inner dimensions differ.*W .*x "):
        cr.tensor(np.ones((2, 3)), name="W") @ cr.tensor(np.ones((2,)), name="x")
    with pytest.raises(cr.ShapeError, match="reshape: cannot reshape a"):
        a.reshape(4, 2)
    with pytest.raises(cr.ShapeError, match="concatenate"):
        cr.concatenate([a, b])
    # untracked operands go through NumPy's own broadcasting, and still get the clear error
    with pytest.raises(cr.ShapeError, match=r"multiply.*shape \(2, 3\).*shape \(4,\)"):
        a.detach() * b
    assert a.grad is None and a.shape == (2, 3)  # nothing changed


def test_backward_on_non_scalar_needs_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = x * 2
    with pytest.raises(cr.ShapeError, match="has 2 elements; pass a gradient"):
        y.backward()
    y.backward(cr.ones(2))  # the graph survived the refused call
    np.testing.assert_allclose(x.grad.data, [2.0, 2.0])
    with pytest.raises(cr.ShapeError, match=r"gradient of shape \(3,\)"):
        (x * 2).backward(cr.ones(3))


def test_second_backward_through_freed_graph():
    x = cr.tensor(1.0, requires_grad=True)
    y = cr.exp(x)
    y.backward()
    with pytest.raises(cr.GraphFreedError, match="exp a second time.*retain_graph=True"):
        y.backward()


def test_requires_grad_on_integer_or_bool_tensor():
    with pytest.raises(TypeError, match="only floating tensors.*int64"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        cr.tensor([True]).requires_grad_()
    with pytest.raises(TypeError, match="only floating"):
        cr.grad(lambda n: n * 2)(np.array([1, 2]))


def test_grad_of_function_with_non_scalar_output():
    with pytest.raises(cr.ShapeError, match=r"single-element tensor.*shape \(3,\).*jacobian"):
        cr.grad(lambda x: x * 2)(cr.ones(3))


def test_object_and_string_data_are_refused():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        cr.tensor(["a", "b"])
    with pytest.raises(TypeError, match="cannot make a tensor"):
        cr.tensor(np.array([object()]))
    with pytest.raises(TypeError, match="expected a Tensor, array or number"):
        cr.exp({"x": 1})


def test_detect_anomaly_names_op_and_user_line():
    x = cr.tensor([1.0, -1.0], requires_grad=True, name="x")
    with cr.detect_anomaly():
        with pytest.raises(cr.AnomalyError) as err:
            cr.log(x)  # log(-1) = NaN
    msg = str(err.value)
    assert "log produced NaN in its forward" in msg and "x (shape (2,)" in msg
    assert "test_errors.py" in msg and "cr.log(x)" in msg


def test_detect_anomaly_in_backward_names_where_op_was_created():
    x = cr.tensor([0.0, 1.0], requires_grad=True, name="x")
    with cr.detect_anomaly():
        y = cr.sqrt(x)  # forward is finite; d√x/dx = ∞ at 0
        with pytest.raises(cr.AnomalyError) as err:
            y.sum().backward()
    msg = str(err.value)
    assert "sqrt produced Inf in its backward" in msg and "y = cr.sqrt(x)" in msg


def test_gradient_of_tensor_without_graph():
    x = cr.tensor(1.0)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).backward()


def test_index_errors_name_the_op():
    x = cr.tensor(np.ones((2, 3)), name="x")
    with pytest.raises(cr.ShapeError, match="getitem.*x"):
        x[5]
    with pytest.raises(IndexError, match="integer or boolean"):
        x[np.array([0.5])]


def test_matrix_function_errors_name_op_and_operand():
    singular = cr.tensor(np.ones((2, 2)), dtype=cr.float64, requires_grad=True, name="S")
    with pytest.raises(cr.LinAlgError, match=r"inv: singular matrix.*S \(shape \(2, 2\)"):
        cr.linalg.inv(singular)
    with pytest.raises(cr.LinAlgError, match="cholesky: matrix is not positive definite.*N"):
        cr.linalg.cholesky(cr.tensor(-np.eye(2), name="N"))
    with pytest.raises(cr.ShapeError, match=r"det: expected a square matrix.*R \(shape \(2, 3\)"):
        cr.linalg.det(cr.tensor(np.ones((2, 3)), name="R"))
    with pytest.raises(cr.ShapeError, match="solve: the right-hand side must have 2 rows"):
        cr.linalg.solve(singular, np.ones(3))
    # det of a singular matrix is fine (0); its gradient needs A⁻¹ and says so
    d = cr.linalg.det(singular)
    assert d.item() == 0.0
    with pytest.raises(cr.LinAlgError, match="det: its derivative uses A⁻¹, and A is singular"):
        d.backward()
    assert singular.grad is None
