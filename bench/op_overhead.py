"""Per-op overhead of glassnet against plain NumPy (issue: core engine).

Run: python bench/op_overhead.py
Times `a + b` and `a @ b` on 32x64 float32 arrays (b is 64x64 for matmul),
with and without graph recording, and prints microseconds per call.
"""
import timeit

import numpy as np

import glassnet as gn


def per_call_us(stmt, number=20000, repeat=7, **ns):
    return min(timeit.repeat(stmt, globals=ns, number=number, repeat=repeat)) / number * 1e6


def main():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((32, 64)).astype(np.float32)
    b = rng.standard_normal((32, 64)).astype(np.float32)
    w = rng.standard_normal((64, 64)).astype(np.float32)
    ta, tb, tw = gn.Tensor(a), gn.Tensor(b), gn.Tensor(w)
    ga, gw = gn.Tensor(a, requires_grad=True), gn.Tensor(w, requires_grad=True)
    rows = [
        ("a + b", per_call_us("a + b", a=a, b=b), per_call_us("ta + tb", ta=ta, tb=tb),
         per_call_us("ga + tb", ga=ga, tb=tb)),
        ("a @ w", per_call_us("a @ w", a=a, w=w), per_call_us("ta @ tw", ta=ta, tw=tw),
         per_call_us("ga @ gw", ga=ga, gw=gw)),
    ]
    print(f"{'op (32x64 float32)':20} {'numpy us':>10} {'glassnet us':>12} {'recording us':>13} {'overhead us':>12}")
    for name, np_us, gn_us, rec_us in rows:
        print(f"{name:20} {np_us:10.2f} {gn_us:12.2f} {rec_us:13.2f} {rec_us - np_us:12.2f}")


if __name__ == "__main__":
    main()
