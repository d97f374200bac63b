// THE per-walker kernel body, shared by every backend: advance one walker n_steps from
// first_step, with its state in registers throughout.
#pragma once

#include "langevin/rng.hpp"
#include "langevin/vec.hpp"

namespace langevin {

/// Advances walker `walker` from step first_step by n_steps. Its noise for step t starts at word
/// t * words_per_step of Philox subsequence `walker` under `key`: the result does not depend
/// on how steps are split across calls.
template <class Integ, class Pot, class T, int D>
LGV_HD LGV_INLINE void
advance_walker(const Integ &integ, const Pot &pot, const typename Integ::template Coeffs<T> &coeffs,
               Vec<T, D> &x, Vec<T, D> &v, std::uint64_t key, std::uint64_t walker,
               std::uint64_t first_step, std::uint64_t n_steps) {
    constexpr std::uint64_t words = Integ::template words_per_step<T, D>();
    WalkerRng rng(key, walker, first_step * words);
    auto carry = integ.begin(pot, x, rng);
    for (std::uint64_t n = 0; n < n_steps; ++n)
        integ.step(pot, coeffs, x, v, rng, carry);
}

} // namespace langevin
