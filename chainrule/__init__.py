"""chainrule: automatic differentiation and neural networks on NumPy, by backpropagation.

>>> import chainrule as cr
>>> w, x, b = cr.tensor(2.0, requires_grad=True), cr.tensor(3.0), cr.tensor(1.0, requires_grad=True)
>>> y = cr.sigmoid(w * x + b)
>>> y.backward()
>>> round(w.grad.item(), 6)
0.002731
"""
from . import (
               _malloc,
               _startup,  # first: a Ctrl-C while the command starts
               data,
               distributed,
               exercises,
               extend,
               io,
               linalg,
               methods,
               nn,
               optim,
               registry,
               tree,
)
from .batching import vmap
from .check import gradcheck, numerical_grad
from .compile import CompileError, compile
from .engine import detect_anomaly, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .errors import (
               AnomalyError,
               ChainruleError,
               GradcheckError,
               GraphFreedError,
               LinAlgError,
               ShapeError,
)
from .explain import Explanation, explain
from .explain.symbolic import Symbolic, symbolic
from .extend import checkpoint, custom_jvp, custom_vjp
from .functional import log_softmax, mean, softmax, std, var
from .io import CheckpointError, load, save
from .ops import (
               abs,
               add,
               as_tensor,
               astype,
               broadcast_to,
               clip,
               concatenate,
               cos,
               divide,
               dot,
               einsum,
               elu,
               erf,
               exp,
               expand_dims,
               expm1,
               flip,
               gelu,
               getitem,
               leaky_relu,
               log,
               log1p,
               logsumexp,
               matmul,
               max,
               maximum,
               min,
               minimum,
               multiply,
               neg,
               norm,
               outer,
               pad,
               power,
               prod,
               reciprocal,
               relu,
               reshape,
               sigmoid,
               sign,
               sin,
               softplus,
               split,
               sqrt,
               square,
               squeeze,
               stack,
               subtract,
               sum,
               sum_to,
               swapaxes,
               take,
               tan,
               tanh,
               trace,
               transpose,
               where,
)
from .tensor import (
               Tensor,
               bool_,
               float32,
               float64,
               get_default_dtype,
               int64,
               manual_seed,
               set_default_dtype,
)
from .transforms import (
               grad,
               gradient,
               hessian,
               hvp,
               jacfwd,
               jacobian,
               jacrev,
               jvp,
               stop_gradient,
               value_and_grad,
               vjp,
)

methods.install()

# PyTorch's spellings (issue 12): dtype names, devices, device= on the factories, generators.
from . import autograd, factories, torch_methods  # noqa: E402
from .device import DeviceError, cuda, device, double, float16, half, int32, long  # noqa: E402
from .device import bool_ as bool  # noqa: E402, A004
from .device import float_ as float  # noqa: E402, A004
from .device import int_ as int  # noqa: E402, A004
from .factories import (  # noqa: E402
               arange,
               empty,
               eye,
               full,
               ones,
               ones_like,
               tensor,
               zeros,
               zeros_like,
)

# NumPy's further functions, cr.special, constants; imported last so that its fuller versions
# (dot for N-d, trace with offset and axes, linspace in Tensors) win.
from .numpy_surface import *  # noqa: E402, F403
from .sampling import (  # noqa: E402
               Generator,
               multinomial,
               normal,
               rand,
               rand_like,
               randint,
               randn,
               randn_like,
               randperm,
)
from .torch_methods import Size, cat  # noqa: E402
from .torch_methods import clamp_fn as clamp  # noqa: E402
from .torch_methods import unsqueeze_fn as unsqueeze  # noqa: E402

# Where NumPy's surface and PyTorch's both name a function: PyTorch's flatten(x, start_dim,
# end_dim) (NumPy has no function of that name), and linspace taking device= as well (NumPy's
# linspace, differentiable in start and stop, underneath).
flatten = torch_methods.flatten_fn
linspace = factories.linspace

_malloc.tune()
registry.BUILTIN = frozenset(registry.PRIMITIVES)

__version__ = "0.1.0"
