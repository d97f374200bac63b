// THE per-walker kernel body, shared by every backend: advance one walker n_steps from
// first_step, with its state in registers throughout.
#pragma once

#include "langevin/first_passage.hpp"
#include "langevin/integrators/sgd.hpp"
#include "langevin/rng.hpp"
#include "langevin/vec.hpp"

namespace langevin {

namespace detail {
/// The stepping loop; Checked = false is the hot path of a constant schedule without a target:
/// no per-step branch on the coefficient table or the target, so the loop body is the RNG and
/// the integrator alone. Both paths evaluate the same expressions in the same order.
template <bool Checked, class Integ, class Pot, class T, int D, class Source>
LGV_HD LGV_INLINE void
step_loop(const Integ &integ, const Pot &pot, const typename Integ::template Coeffs<T> *coeffs,
          bool varying, const Target &target, Vec<T, D> &x, Vec<T, D> &v, std::uint64_t &hit,
          Source &source, std::uint64_t first_step, std::uint64_t n_steps) {
    using Layout = NormalLayout<T, D>;
    constexpr int L = Layout::group_steps;
    constexpr std::uint64_t ahead = Integ::lookahead;
    // Normal slots m = first_step .. first_step + n_steps + ahead - 1: the first `ahead` slots
    // prime the integrator; slot m then drives step m - ahead.
    const std::uint64_t m_begin = first_step, m_end = first_step + n_steps + ahead;
    std::uint64_t base = m_begin / L * L;
    Vec<T, Layout::group_normals> normals;
    auto carry = integ.begin(pot, x);
    auto c = coeffs[0];
    const bool watch = Checked && target.active();
    auto slot = [&](std::uint64_t m, int s, bool may_prime) {
        Vec<T, D> xi;
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            xi[d] = normals[s * D + d];
        if (ahead > 0 && may_prime && m < m_begin + ahead) {
            integ.prime(carry, xi);
            return;
        }
        const std::uint64_t n = m - ahead;
        if (Checked && varying)
            c = coeffs[n - first_step];
        integ.step(pot, c, x, v, xi, carry);
        if (watch && hit == kNotHit && target.contains(x))
            hit = n + 1;
    };
    // The call's last group draws with fill_last_group (no look-ahead past it).
    auto partial_group = [&] { // the first or last group: some slots lie outside this call
        if (base + L >= m_end)
            source.fill_last_group(normals);
        else
            source.fill_group(normals);
        LGV_UNROLL
        for (int s = 0; s < L; ++s)
            if (base + s >= m_begin && base + s < m_end)
                slot(base + s, s, true);
        base += L;
    };
    if (base < m_begin + ahead && base < m_end)
        partial_group();
    // Whole groups: counted loops of L steps per trip, with a 32-bit trip counter; the last
    // group of the call, when whole, after the loop.
    std::uint64_t whole = base < m_end ? (m_end - base) / L : 0;
    const bool last_is_whole = whole > 0 && base + whole * L == m_end;
    for (whole -= last_is_whole ? 1 : 0; whole > 0;) {
        const std::uint32_t trips = whole < 0x40000000u ? std::uint32_t(whole) : 0x40000000u;
        for (std::uint32_t g = 0; g < trips; ++g) {
            source.fill_group(normals);
            LGV_UNROLL
            for (int s = 0; s < L; ++s)
                slot(base + std::uint64_t(g) * L + s, s, false);
        }
        base += std::uint64_t(trips) * L;
        whole -= trips;
    }
    if (last_is_whole) {
        source.fill_last_group(normals);
        LGV_UNROLL
        for (int s = 0; s < L; ++s)
            slot(base + s, s, false);
        base += L;
    }
    if (base < m_end)
        partial_group();
}
} // namespace detail

/// Advances one walker from step first_step by n_steps, taking its normals from `source`, whose
/// fill_group() yields the walker's step groups in order, starting with group
/// first_step / group_steps (rng.hpp). Step first_step + n uses coeffs[varying ? n : 0] (the
/// integrator's constants at T_{first_step + n}) and the normals of step first_step + n +
/// lookahead, so the result does not depend on how steps are split across calls. When the
/// target is active, `hit` becomes the first step count after which x lies in it.
template <class Integ, class Pot, class T, int D, class Source>
LGV_HD LGV_INLINE void advance_walker_from(const Integ &integ, const Pot &pot,
                                           const typename Integ::template Coeffs<T> *coeffs,
                                           bool varying, const Target &target, Vec<T, D> &x,
                                           Vec<T, D> &v, std::uint64_t &hit, Source &source,
                                           std::uint64_t first_step, std::uint64_t n_steps) {
    if (varying || (target.active() && hit == kNotHit))
        detail::step_loop<true>(integ, pot, coeffs, varying, target, x, v, hit, source, first_step,
                                n_steps);
    else
        detail::step_loop<false>(integ, pot, coeffs, varying, target, x, v, hit, source, first_step,
                                 n_steps);
}

/// A mini-batch integrator (SGD) seen as an ordinary one: its carry counts steps, so each step
/// knows its index n and draws its mini-batch from (key, walker, n) alone.
template <class Integ> struct MinibatchSteps {
    const Integ &integ;
    std::uint64_t key, walker, first_step;
    template <class T> using Coeffs = typename Integ::template Coeffs<T>;
    template <class T, int D> struct Carry { std::uint64_t n; };
    static constexpr int lookahead = 0;
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE Carry<T, D> begin(const Pot &, const Vec<T, D> &) const {
        return {first_step};
    }
    template <class T, int D>
    LGV_HD LGV_INLINE void prime(Carry<T, D> &, const Vec<T, D> &) const {}
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE void step(const Pot &pot, const Coeffs<T> &c, Vec<T, D> &x, Vec<T, D> &,
                                const Vec<T, D> &xi, Carry<T, D> &carry) const {
        integ.step_minibatch(pot, c, x, xi, key, walker, carry.n++);
    }
};

/// The same with the normals drawn from walker `walker`'s Philox subsequence under `key` (the
/// seed: dynamics' key; mini-batches use stream_key(seed, Purpose::minibatch)).
template <class Integ, class Pot, class T, int D>
LGV_HD LGV_INLINE void
advance_walker(const Integ &integ, const Pot &pot, const typename Integ::template Coeffs<T> *coeffs,
               bool varying, const Target &target, Vec<T, D> &x, Vec<T, D> &v, std::uint64_t &hit,
               std::uint64_t key, std::uint64_t walker, std::uint64_t first_step,
               std::uint64_t n_steps) {
    using Layout = NormalLayout<T, D>;
    WalkerRng rng(key, walker, first_step / Layout::group_steps * Layout::group_words);
    if constexpr (is_minibatch<Integ>) {
        const MinibatchSteps<Integ> steps{integ, stream_key(key, Purpose::minibatch), walker,
                                          first_step};
        advance_walker_from(steps, pot, coeffs, varying, target, x, v, hit, rng, first_step,
                            n_steps);
    } else {
        advance_walker_from(integ, pot, coeffs, varying, target, x, v, hit, rng, first_step,
                            n_steps);
    }
}

} // namespace langevin
