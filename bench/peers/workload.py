"""The reference workload, written once for every peer: 1-D tilted double well
E = (x^2 - 1)^2 + 0.1 x, Euler-Maruyama, dt = 1e-3, T = 0.5, friction 1, walkers from x = -1.
Each peer returns a function that advances `steps` steps and blocks until done."""
import math

DT, T, TILT, X0 = 1e-3, 0.5, 0.1, -1.0
NOISE = math.sqrt(2 * T * DT)


class Unavailable(RuntimeError):
    """The peer's package is installed but cannot run this workload here (e.g. no GPU)."""


def numpy_peer(n, dtype):
    import numpy as np
    rng = np.random.default_rng(1)
    x = np.full(n, X0, dtype=dtype)
    g = np.empty(n, dtype=dtype)
    drift = np.empty(n, dtype=dtype)

    def run(steps):  # in place, no temporaries: numpy's best case
        for _ in range(steps):
            rng.standard_normal(out=g, dtype=dtype)
            np.multiply(x, x, out=drift)              # x^2
            np.subtract(drift, 1, out=drift)          # x^2 - 1
            np.multiply(drift, x, out=drift)          # x (x^2 - 1)
            np.multiply(drift, -4 * DT, out=drift)    # -dt 4 x (x^2 - 1)
            np.subtract(drift, DT * TILT, out=drift)  # - dt tilt
            np.add(x, drift, out=x)
            np.multiply(g, NOISE, out=g)
            np.add(x, g, out=x)
    return run


def torch_peer(n, dtype, compiled):
    import torch
    if not torch.cuda.is_available():
        raise Unavailable("PyTorch sees no CUDA device here")
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    x = torch.full((n,), X0, dtype=dt, device="cuda")
    gen = torch.Generator(device="cuda").manual_seed(1)

    def step(x, g):
        return x - DT * (4 * x * (x * x - 1) + TILT) + NOISE * g

    f = torch.compile(step) if compiled else step

    def run(steps):
        nonlocal x
        for _ in range(steps):
            g = torch.randn(n, dtype=dt, device="cuda", generator=gen)
            x = f(x, g)
        torch.cuda.synchronize()
    return run


def jax_peer(n, dtype):
    import jax
    import jax.numpy as jnp
    if jax.default_backend() != "gpu":  # JAX falls back to the CPU without a word
        raise Unavailable(f"JAX runs on {jax.default_backend()} here, not a GPU")
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dt = jnp.dtype(dtype)
    state = {"x": jnp.full((n,), X0, dtype=dt), "key": jax.random.PRNGKey(1)}

    @jax.jit
    def advance(x, key, steps):
        def body(_, carry):
            x, key = carry
            key, sub = jax.random.split(key)
            g = jax.random.normal(sub, (n,), dtype=dt)
            return x - DT * (4 * x * (x * x - 1) + TILT) + NOISE * g, key
        return jax.lax.fori_loop(0, steps, body, (x, key))

    def run(steps):
        state["x"], state["key"] = advance(state["x"], state["key"], steps)
        state["x"].block_until_ready()
    return run


def cupy_peer(n, dtype):
    import cupy as cp
    x = cp.full(n, X0, dtype=dtype)
    rs = cp.random.RandomState(1)  # cuRAND host API
    step = cp.ElementwiseKernel(
        "T g", "T x",
        f"x = x - {DT} * (4 * x * (x * x - 1) + {TILT}) + {NOISE} * g", "em_step")

    def run(steps):
        for _ in range(steps):
            step(rs.standard_normal(n, dtype=dtype), x)
        cp.cuda.Stream.null.synchronize()
    return run
