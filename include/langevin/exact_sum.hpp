// An exact, order-independent sum of doubles. The class is host code; exact_digits() also runs on
// the device, where the CUDA backend adds digits with integer atomics (any order, same limbs).
//
// Every finite double is an integer multiple of 2^-1074, so a sum of doubles is a long
// fixed-point number. It is held here in 32-bit digits stored in int64 limbs (carries are
// deferred: a limb absorbs 2^30 digits before it is normalised). The sum is exact, hence the same
// for any order and any grouping of the terms: moments reduced over chunks, shards or MPI ranks
// agree bitwise. Reading it rounds once (to nearest, ties to even). Non-finite terms are summed
// separately (inf + -inf = NaN in any order).
// Idea: Neal, "Fast exact summation using small and large superaccumulators", arXiv:1505.05571.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "langevin/core.hpp"

namespace langevin {

/// The fixed-point layout: 32-bit digits (limbs) from 2^-1152 to 2^1088.
constexpr int kExactLimbs = 70;
constexpr int kExactLowestBit = -1152; ///< weight of bit 0 of limb 0

/// A finite double as three signed 32-bit digits at limbs limb, limb + 1, limb + 2: what
/// ExactSum::add adds.
struct ExactDigits {
    int limb;
    std::int64_t digit[3];
};

LGV_HD LGV_INLINE ExactDigits exact_digits(double x) {
    // x = +-mag 2^(bit + kLowestBit), mag < 2^53, read off the IEEE fields.
    std::uint64_t raw;
    std::memcpy(&raw, &x, sizeof raw);
    const int field = int((raw >> 52) & 0x7ff);
    const std::uint64_t mag = (raw & ((std::uint64_t(1) << 52) - 1)) |
                              (field ? std::uint64_t(1) << 52 : 0); // subnormal: no hidden 1
    const int bit = (field ? field : 1) - 1075 - kExactLowestBit;
    const std::int64_t sign = (raw >> 63) ? -1 : 1;
    const int shift = bit % 32;
    // mag << shift spans at most 85 bits: three digits.
    const std::uint64_t lo = (mag << shift) & 0xffffffffu;
    const std::uint64_t mid = (shift == 0 ? mag >> 32 : (mag >> (32 - shift))) & 0xffffffffu;
    const std::uint64_t hi = shift == 0 ? 0 : mag >> (64 - shift);
    return {bit / 32, {sign * std::int64_t(lo), sign * std::int64_t(mid), sign * std::int64_t(hi)}};
}

class ExactSum {
public:
    static constexpr int kLimbs = kExactLimbs;
    static constexpr int kLowestBit = kExactLowestBit;

    void add(double x) {
        if (x == 0)
            return;
        if (!std::isfinite(x)) {
            special_ += x;
            return;
        }
        const ExactDigits e = exact_digits(x);
        for (int k = 0; k < 3; ++k)
            limbs_[e.limb + k] += e.digit[k];
        if (++pending_ >= (std::int64_t(1) << 30))
            normalise();
    }

    ExactSum &operator+=(const ExactSum &o) {
        normalise();
        ExactSum b = o;
        b.normalise();
        for (int i = 0; i < kLimbs; ++i)
            limbs_[i] += b.limbs_[i];
        special_ += b.special_;
        pending_ = 1;
        normalise();
        return *this;
    }

    /// The sum, rounded (a deterministic function of the exact value).
    double value() const {
        ExactSum a = *this;
        a.normalise();
        if (a.special_ != 0 || std::isnan(a.special_))
            return a.special_;
        const bool negative = a.limbs_[kLimbs - 1] < 0;
        if (negative) {
            for (auto &l : a.limbs_)
                l = -l;
            a.pending_ = 1;
            a.normalise();
        }
        int top = kLimbs - 1;
        while (top >= 0 && a.limbs_[top] == 0)
            --top;
        if (top < 0)
            return 0.0;
        // The top three digits (65-96 significant bits when there are three) as one integer,
        // the rest as a sticky bit; rounded once to 53 bits, ties to even. A total below 2^-1022
        // is a multiple of 2^-1074 (every double is), hence a subnormal exactly: neither the
        // rounding nor ldexp changes it.
        const int low = top >= 2 ? top - 2 : 0;
        unsigned __int128 m = 0;
        for (int i = top; i >= low; --i)
            m = (m << 32) | std::uint64_t(a.limbs_[i]);
        bool sticky = false;
        for (int i = 0; i < low; ++i)
            sticky = sticky || a.limbs_[i] != 0;
        int bits = 0;
        for (unsigned __int128 t = m; t != 0; t >>= 1)
            ++bits;
        int shift = bits > 53 ? bits - 53 : 0;
        if (shift > 0) {
            const unsigned __int128 one = 1;
            const unsigned __int128 rest = m & ((one << shift) - 1), half = one << (shift - 1);
            m >>= shift;
            if (rest > half || (rest == half && (sticky || (m & 1))))
                ++m;
        }
        const double v = std::ldexp(double(std::uint64_t(m)), shift + 32 * low + kLowestBit);
        return negative ? -v : v;
    }

    /// Canonical digits (limbs 0..kLimbs-2 in [0, 2^32), the top one signed) plus the
    /// non-finite part: what checkpoints, shard files and MPI messages carry.
    std::array<std::int64_t, kLimbs + 1> digits() const {
        ExactSum a = *this;
        a.normalise();
        std::array<std::int64_t, kLimbs + 1> out;
        std::memcpy(out.data(), a.limbs_.data(), sizeof(std::int64_t) * kLimbs);
        std::memcpy(&out[kLimbs], &a.special_, sizeof(double));
        return out;
    }
    /// Limbs summed elsewhere (any int64 values, e.g. device atomics of exact_digits) plus the
    /// counts of +inf, -inf and NaN terms.
    static ExactSum from_limbs(const std::int64_t *limbs, std::uint64_t pos_inf,
                               std::uint64_t neg_inf, std::uint64_t nan) {
        ExactSum s;
        std::memcpy(s.limbs_.data(), limbs, sizeof(std::int64_t) * kLimbs);
        s.special_ = nan > 0 || (pos_inf > 0 && neg_inf > 0) ? NAN
                     : pos_inf > 0                           ? HUGE_VAL
                     : neg_inf > 0                           ? -HUGE_VAL
                                                             : 0.0;
        s.pending_ = 1;
        s.normalise();
        return s;
    }
    static ExactSum from_digits(const std::int64_t *d) {
        ExactSum s = from_limbs(d, 0, 0, 0);
        std::memcpy(&s.special_, &d[kLimbs], sizeof(double));
        return s;
    }

    bool operator==(const ExactSum &o) const { return digits() == o.digits(); }

private:
    void normalise() {
        if (pending_ == 0)
            return;
        for (int i = 0; i + 1 < kLimbs; ++i) {
            const std::int64_t carry = limbs_[i] >> 32; // floor division by 2^32
            limbs_[i] -= carry * (std::int64_t(1) << 32);
            limbs_[i + 1] += carry;
        }
        pending_ = 0;
    }

    std::array<std::int64_t, kLimbs> limbs_{};
    double special_ = 0;
    std::int64_t pending_ = 0; ///< digits added since the last normalisation
};

} // namespace langevin
