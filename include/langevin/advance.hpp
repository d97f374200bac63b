// THE per-walker kernel body, shared by every backend: advance one walker n_steps from
// first_step, with its state in registers throughout.
#pragma once

#include "langevin/first_passage.hpp"
#include "langevin/rng.hpp"
#include "langevin/vec.hpp"

namespace langevin {

/// Advances walker `walker` from step first_step by n_steps. Step first_step + n uses
/// coeffs[varying ? n : 0] (the integrator's constants at T_{first_step + n}). Its noise starts
/// at word t * words_per_step of Philox subsequence `walker` under `key`, so the result does not
/// depend on how steps are split across calls. When the target is active, `hit` becomes the
/// first step count after which x lies in it.
template <class Integ, class Pot, class T, int D>
LGV_HD LGV_INLINE void
advance_walker(const Integ &integ, const Pot &pot, const typename Integ::template Coeffs<T> *coeffs,
               bool varying, const Target &target, Vec<T, D> &x, Vec<T, D> &v, std::uint64_t &hit,
               std::uint64_t key, std::uint64_t walker, std::uint64_t first_step,
               std::uint64_t n_steps) {
    constexpr std::uint64_t words = Integ::template words_per_step<T, D>();
    WalkerRng rng(key, walker, first_step * words);
    auto carry = integ.begin(pot, x, rng);
    auto c = coeffs[0];
    const bool watch = target.active();
    for (std::uint64_t n = 0; n < n_steps; ++n) {
        if (varying)
            c = coeffs[n];
        integ.step(pot, c, x, v, rng, carry);
        if (watch && hit == kNotHit && target.contains(x))
            hit = first_step + n + 1;
    }
}

} // namespace langevin
