// Temperature schedules.
#include "langevin/schedule.hpp"

#include <algorithm>
#include <cmath>

#include "langevin/error.hpp"

namespace langevin {

double Schedule::at(std::uint64_t n) const {
    switch (kind) {
    case Kind::constant:
        return T;
    case Kind::linear: {
        const double f = span == 0 ? 1.0 : std::min(1.0, double(n) / double(span));
        return T0 + (T1 - T0) * f;
    }
    case Kind::geometric: {
        if (rate > 0)
            return T0 * std::pow(rate, double(n));
        const double f = span == 0 ? 1.0 : std::min(1.0, double(n) / double(span));
        return T0 * std::pow(T1 / T0, f);
    }
    case Kind::logarithmic:
        return c / std::log(double(n) + n0);
    case Kind::piecewise: {
        if (n <= knots.front().first)
            return knots.front().second;
        if (n >= knots.back().first)
            return knots.back().second;
        const auto hi =
            std::upper_bound(knots.begin(), knots.end(), n,
                             [](std::uint64_t s, const auto &k) { return s < k.first; });
        const auto lo = hi - 1;
        const double f = double(n - lo->first) / double(hi->first - lo->first);
        return lo->second + (hi->second - lo->second) * f;
    }
    }
    return T;
}

std::vector<double> Schedule::table(std::uint64_t first, std::uint64_t count) const {
    if (is_constant())
        return {T};
    std::vector<double> out(count);
    for (std::uint64_t i = 0; i < count; ++i)
        out[i] = at(first + i);
    return out;
}

std::string Schedule::describe() const {
    switch (kind) {
    case Kind::constant:
        return detail::concat("constant T = ", T);
    case Kind::linear:
        return detail::concat("linear T = ", T0, " -> ", T1, " over ", span, " steps");
    case Kind::geometric:
        return rate > 0
                   ? detail::concat("geometric T = ", T0, " * ", rate, "^n")
                   : detail::concat("geometric T = ", T0, " -> ", T1, " over ", span, " steps");
    case Kind::logarithmic:
        return detail::concat("logarithmic T = ", c, " / ln(n + ", n0, ")");
    case Kind::piecewise:
        return detail::concat("piecewise, ", knots.size(), " knots, T = ", knots.front().second,
                              " -> ", knots.back().second);
    }
    return "";
}

} // namespace langevin
