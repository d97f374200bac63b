// Boltzmann references by Gauss-Legendre quadrature (Boost.Math nodes).
#include "langevin/boltzmann.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

#include <boost/math/quadrature/gauss.hpp>

namespace langevin {
namespace detail {

/// A caller's request to stop (BoltzmannReferences::interrupt_when) as the long loops poll it,
/// parallel ones included: once it is seen, each loop skips what it has left, and check(), after
/// the loop (an exception may not leave a parallel region), throws Interrupted.
class Stop {
public:
    explicit Stop(const std::function<bool()> &asked) : asked_(asked) {}
    /// Whether to skip the rest of the loop; `ask`: call the hook now (loops of cheap items ask
    /// every 64 or so energies, so that it costs nothing next to them).
    bool now(bool ask = true) {
        if (seen_.load(std::memory_order_relaxed))
            return true;
        if (!ask || !asked_ || !asked_())
            return false;
        seen_.store(true, std::memory_order_relaxed);
        return true;
    }
    void check() const {
        if (seen_.load(std::memory_order_relaxed))
            throw Interrupted("interrupted while computing the Boltzmann references");
    }

private:
    const std::function<bool()> &asked_;
    std::atomic<bool> seen_{false};
};

} // namespace detail

namespace {

using detail::Stop;

double kNotAvailableValue() {
    return std::numeric_limits<double>::quiet_NaN();
}

constexpr int kNodes = 8; // per bin and direction: exact for polynomials of degree 15

/// Gauss-Legendre nodes and weights on [-1, 1] (Boost stores the non-negative half).
struct Rule {
    std::vector<double> x, w;
    template <int N> static Rule make() {
        using G = boost::math::quadrature::gauss<double, N>;
        Rule r;
        const auto &a = G::abscissa();
        const auto &wt = G::weights();
        for (std::size_t i = 0; i < a.size(); ++i) {
            r.x.push_back(a[i]);
            r.w.push_back(wt[i]);
            if (a[i] != 0) {
                r.x.push_back(-a[i]);
                r.w.push_back(wt[i]);
            }
        }
        return r;
    }
};
template <int N = kNodes> const Rule &rule() {
    static const Rule r = Rule::make<N>();
    return r;
}

using Energy1 = std::function<double(double)>;

/// The 1-D energy whose Boltzmann factor is the marginal of coordinate d, if there is one.
template <class Pot> bool marginal_energy(const Pot &pot, int d, Energy1 &out) {
    if constexpr (std::is_same_v<Pot, Free>) {
        return false; // not normalisable
    } else if constexpr (Pot::separable) {
        out = [pot, d](double x) { return pot.coord_energy(d, x); };
        return true;
    } else if constexpr (Pot::fixed_dim == 0 || Pot::fixed_dim == 1) {
        if (pot.dim != 1)
            return false;
        out = [pot](double x) { return pot.energy(Vec<double, 1>{{x}}); };
        return true;
    } else {
        return false;
    }
}

/// Smallest energy on a fine scan of [lo, hi]: the shift that keeps exp() in range.
double scan_min(const Energy1 &e, double lo, double hi) {
    double m = std::numeric_limits<double>::infinity();
    for (int i = 0; i <= 4096; ++i)
        m = std::min(m, e(lo + (hi - lo) * i / 4096.0));
    return m;
}

/// Integral of exp(-(E - shift)/kT) over [a, b], one Gauss-Legendre panel.
double panel(const Energy1 &e, double shift, double kT, double a, double b) {
    const Rule &r = rule();
    const double half = 0.5 * (b - a), mid = 0.5 * (a + b);
    double s = 0;
    for (std::size_t i = 0; i < r.x.size(); ++i) {
        const double x = mid + half * r.x[i];
        s += r.w[i] * std::exp(-(e(x) - shift) / kT);
    }
    return s * half;
}

/// A range outside which exp(-(E - Emin)/kT) < 1e-15 of its peak (at most 2^40 times wider).
Range tails(const Energy1 &e, Range r, double kT) {
    for (int i = 0; i < 40; ++i) {
        const double emin = scan_min(e, r.lo, r.hi);
        const double cut = emin + 35.0 * kT;
        if (e(r.lo) > cut && e(r.hi) > cut)
            return r;
        const double w = r.hi - r.lo;
        r = {r.lo - w, r.hi + w};
    }
    return r;
}

/// Whether exp(-E/kT) has died out (35 kT up) at r.lo, the far end of a passage integral:
/// false when tails() gave up (E bounded or too flat), so the integral would be meaningless.
bool lower_tail_reached(const Energy1 &e, Range r, double kT) {
    return e(r.lo) > scan_min(e, r.lo, r.hi) + 35.0 * kT;
}

using Energy2 = std::function<double(double, double)>;

struct Rect {
    Range x, y;
};

/// The rectangle widened by k halves of its size on every side.
Rect widened(const Rect &r, int k) {
    const double hx = 0.5 * k * (r.x.hi - r.x.lo), hy = 0.5 * k * (r.y.hi - r.y.lo);
    return {{r.x.lo - hx, r.x.hi + hx}, {r.y.lo - hy, r.y.hi + hy}};
}

constexpr int kMaxWidenings = 8; // the grid and 4 of its sizes on every side

/// The lowest energy inside the grid widened k times and the lowest on its edge. Neither depends
/// on the temperature: a study's references scan each widening once (PlaneScans).
struct PlaneScan {
    double lowest, edge;
};
PlaneScan scan_plane(const Energy2 &e, const Rect &grid, int k, Stop &stop) {
    const Rect r = widened(grid, k);
    const int n = 128, edge_points = 2048; // a coarse minimum only raises the bar
    double lowest = std::numeric_limits<double>::infinity();
#pragma omp parallel for reduction(min : lowest)
    for (int i = 0; i <= n; ++i) {
        if (stop.now())
            continue;
        for (int j = 0; j <= n; ++j)
            lowest = std::min(
                lowest, e(r.x.lo + (r.x.hi - r.x.lo) * i / n, r.y.lo + (r.y.hi - r.y.lo) * j / n));
    }
    stop.check();
    double edge = std::numeric_limits<double>::infinity();
#pragma omp parallel for reduction(min : edge)
    for (int i = 0; i <= edge_points; ++i) {
        if (stop.now(i % 16 == 0))
            continue;
        const double x = r.x.lo + (r.x.hi - r.x.lo) * i / edge_points;
        const double y = r.y.lo + (r.y.hi - r.y.lo) * i / edge_points;
        edge = std::min({edge, e(x, r.y.lo), e(x, r.y.hi), e(r.x.lo, y), e(r.x.hi, y)});
    }
    stop.check();
    return {lowest, edge};
}
using PlaneScans = std::vector<PlaneScan>; ///< of widenings 0, 1, ... as far as scanned

/// How many times the grid must be widened (widened()) before its whole edge lies 35 kT above
/// the lowest energy inside, so that the plane beyond holds < 1e-15 of exp(-E/kT) near the edge
/// and a negligible share in all; -1 when kMaxWidenings are not enough (E bounded, or growing
/// too slowly to tell: no reference for all walkers can be given). Scans are taken from and
/// added to `scans`.
int plane_widenings(const Energy2 &e, const Rect &grid, double kT, PlaneScans &scans, Stop &stop) {
    for (int k = 0; k <= kMaxWidenings; ++k) {
        if (std::size_t(k) == scans.size())
            scans.push_back(scan_plane(e, grid, k, stop));
        if (scans[std::size_t(k)].edge > scans[std::size_t(k)].lowest + 35.0 * kT)
            return k;
    }
    return -1;
}

/// Quadrature nodes in the plane, their weights (panel areas included) and their energies.
struct PlaneNodes {
    std::vector<double> x, y, weight, energy;
    std::vector<Rect> panels; ///< panel c holds nodes c q^2 .. (c + 1) q^2 - 1
    /// Of each panel: 0 on the grid, r in the r-th ring of coarse panels around it. The panels
    /// of a plane widened fewer times are those of rings <= ring_of(k), in the same order.
    std::vector<int> ring;
    /// Of each panel, its coarse cell (i, j): the grid's cells are 0 .. per_width - 1 on each
    /// axis (coarse x coarse of its panels each), a ring panel is a cell of its own.
    std::vector<std::array<int, 2>> cell;
    int widenings = -1; ///< the plane is the grid widened this many times (none yet: -1)
    int per_width = 0;  ///< coarse panels across the grid
    int ring_of(int k) const { return k * per_width / 2; }
    /// Frees x and y, which a plane kept for other temperatures no longer needs.
    void forget_positions() {
        std::vector<double>().swap(x);
        std::vector<double>().swap(y);
    }
};

/// visit(x, y, weight) at each of a panel's Gauss-Legendre nodes of rule q (per direction).
template <class Visit> void panel_nodes(const Rect &p, const Rule &q, Visit &&visit) {
    const double hx = 0.5 * (p.x.hi - p.x.lo), hy = 0.5 * (p.y.hi - p.y.lo);
    for (std::size_t u = 0; u < q.x.size(); ++u)
        for (std::size_t v = 0; v < q.x.size(); ++v)
            visit(0.5 * (p.x.lo + p.x.hi) + hx * q.x[u], 0.5 * (p.y.lo + p.y.hi) + hy * q.x[v],
                  q.w[u] * q.w[v] * hx * hy);
}

/// The Gauss-Legendre nodes of rule q (per direction) covering the grid widened k times: the
/// grid on an m x m panel mesh, the ring around it, which holds little of the mass, on panels
/// `coarse` times wider (m / coarse even, so that they tile the ring exactly); energies
/// evaluated in parallel, each in its own slot (the same for any thread count), unless
/// `evaluate` is false (they are then NaN, for the caller to fill in where needed).
PlaneNodes plane_nodes(const Energy2 &e, const Rect &grid, int k, int m, int coarse, const Rule &q,
                       Stop &stop, bool evaluate = true) {
    PlaneNodes out;
    const double wx = grid.x.hi - grid.x.lo, wy = grid.y.hi - grid.y.lo;
    auto panel = [&](int i, int j, int per_width, int ring, std::array<int, 2> cell) {
        out.ring.push_back(ring);
        out.cell.push_back(cell);
        const double x0 = grid.x.lo + wx * i / per_width, x1 = grid.x.lo + wx * (i + 1) / per_width;
        const double y0 = grid.y.lo + wy * j / per_width, y1 = grid.y.lo + wy * (j + 1) / per_width;
        out.panels.push_back({{x0, x1}, {y0, y1}});
        panel_nodes(out.panels.back(), q, [&](double x, double y, double w) {
            out.x.push_back(x);
            out.y.push_back(y);
            out.weight.push_back(w);
        });
    };
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j)
            panel(i, j, m, 0, {i / coarse, j / coarse});
    const int per_width = m / coarse, ring = k * per_width / 2;
    out.per_width = per_width;
    out.widenings = k;
    for (int i = -ring; i < per_width + ring; ++i)
        for (int j = -ring; j < per_width + ring; ++j)
            if (i < 0 || i >= per_width || j < 0 || j >= per_width)
                panel(i, j, per_width, std::max({-i, i - per_width + 1, -j, j - per_width + 1}),
                      {i, j});
    if (!evaluate) {
        out.energy.assign(out.x.size(), std::numeric_limits<double>::quiet_NaN());
        return out;
    }
    out.energy.resize(out.x.size());
#pragma omp parallel for schedule(dynamic, 1024)
    for (std::size_t i = 0; i < out.x.size(); ++i)
        if (!stop.now(i % 64 == 0))
            out.energy[i] = e(out.x[i], out.y[i]);
    stop.check();
    return out;
}

/// The grid of a 2-D study and how far exp(-E/kT) reaches beyond it: 0 for a confined law,
/// -1 when it cannot be told (plane_widenings).
template <class Pot>
std::pair<Rect, int> plane_of(const Pot &pot, const Grid &grid, double kT, Energy2 &e,
                              PlaneScans &scans, Stop &stop) {
    e = [&pot](double x, double y) { return double(pot.energy(Vec<double, 2>{{x, y}})); };
    const Rect r{{grid.axes[0].lo, grid.axes[0].hi}, {grid.axes[1].lo, grid.axes[1].hi}};
    return {r, is_confined<Pot> ? 0 : plane_widenings(e, r, kT, scans, stop)};
}

using Force2 = std::function<std::array<double, 2>(double, double)>; ///< -grad E

constexpr int kScreenLevels = 6; // blocks of 32 x 32 cells down to single cells

int floor_div(int a, int b) {
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

} // namespace

namespace detail {
/// The lower bounds behind a convex E's screen of the moment plane (screen_cells), kept with it:
/// of each block of 2^s x 2^s cells meeting cells lo .. hi - 1 on each axis; NaN: not yet.
struct ConvexBounds {
    int lo = 0, hi = 0;
    std::array<std::vector<double>, kScreenLevels> bound;
    int first(int s) const { return floor_div(lo, 1 << s); }
    int across(int s) const { return floor_div(hi - 1, 1 << s) - first(s) + 1; }
    ConvexBounds() = default;
    ConvexBounds(int lo_, int hi_) : lo(lo_), hi(hi_) {
        for (int s = 0; s < kScreenLevels; ++s)
            bound[s].assign(std::size_t(across(s)) * across(s),
                            std::numeric_limits<double>::quiet_NaN());
    }
};
} // namespace detail

namespace {

/// Of each cell of the moment plane (plane_nodes' cells, -rings .. per_width + rings - 1 on
/// each axis, row-major from bounds.lo): whether a convex E may come below `level` on it. E lies
/// above its tangent planes, so on a rectangle of half-widths hx, hy about c,
/// E >= E(c) - |F_x(c)| hx - |F_y(c)| hy (F = -grad E). Blocks of 2^s x 2^s cells anchored at
/// the grid's corner are bounded from 32 cells across down to one, where a larger block's bound
/// is not already above the level; each bound is computed once per plane (a pure function of its
/// block), so the cells a level takes do not depend on the levels asked before.
std::vector<char> screen_cells(detail::ConvexBounds &bounds, const Energy2 &e, const Force2 &f,
                               const Rect &grid, int per_width, int rings, double level,
                               Stop &stop) {
    const int n = bounds.hi - bounds.lo, c0 = -rings, c1 = per_width + rings;
    const double wx = grid.x.hi - grid.x.lo, wy = grid.y.hi - grid.y.lo;
    std::vector<char> taken(std::size_t(n) * n, 0);
    std::vector<std::array<int, 2>> frontier, next; // blocks (i, j): cells [i 2^s, (i + 1) 2^s)
    int s = kScreenLevels - 1;
    for (int i = floor_div(c0, 1 << s); i <= floor_div(c1 - 1, 1 << s); ++i)
        for (int j = floor_div(c0, 1 << s); j <= floor_div(c1 - 1, 1 << s); ++j)
            frontier.push_back({i, j});
    for (;; --s) {
        const int size = 1 << s, first = bounds.first(s), across = bounds.across(s);
        std::vector<double> &bound = bounds.bound[s];
        auto at = [&](const std::array<int, 2> &b) -> double & {
            return bound[std::size_t(b[0] - first) * across + (b[1] - first)];
        };
#pragma omp parallel for schedule(dynamic, 16)
        for (std::size_t t = 0; t < frontier.size(); ++t) {
            double &lb = at(frontier[t]);
            if (!std::isnan(lb) || stop.now(t % 64 == 0))
                continue;
            const int i = frontier[t][0], j = frontier[t][1];
            const double x0 = grid.x.lo + wx * (i * size) / per_width,
                         x1 = grid.x.lo + wx * ((i + 1) * size) / per_width;
            const double y0 = grid.y.lo + wy * (j * size) / per_width,
                         y1 = grid.y.lo + wy * ((j + 1) * size) / per_width;
            const double cx = 0.5 * (x0 + x1), cy = 0.5 * (y0 + y1);
            const std::array<double, 2> force = f(cx, cy);
            const double v = e(cx, cy) - std::abs(force[0]) * 0.5 * (x1 - x0) -
                             std::abs(force[1]) * 0.5 * (y1 - y0);
            lb = std::isnan(v) ? -std::numeric_limits<double>::infinity() : v; // NaN: no bound
        }
        stop.check();
        next.clear();
        for (const auto &b : frontier) {
            if (at(b) > level)
                continue;
            if (s == 0) {
                taken[std::size_t(b[0] - bounds.lo) * n + (b[1] - bounds.lo)] = 1;
                continue;
            }
            const int half = size / 2;
            for (int di = 0; di < 2; ++di)
                for (int dj = 0; dj < 2; ++dj) {
                    const int i = 2 * b[0] + di, j = 2 * b[1] + dj;
                    if (i * half < c1 && (i + 1) * half > c0 && j * half < c1 &&
                        (j + 1) * half > c0)
                        next.push_back({i, j});
                }
        }
        if (s == 0)
            return taken;
        frontier.swap(next);
    }
}

std::vector<double> normalise(std::vector<double> p) {
    double total = 0;
    for (double v : p)
        total += v;
    if (!(total > 0) || !std::isfinite(total))
        return {};
    for (double &v : p)
        v /= total;
    return p;
}

/// Probability per basin value of a 1-D marginal over the real line. Panels whose ends lie in
/// different basins are split at the boundary (found by bisection), so the basin rule is
/// integrated exactly rather than node by node.
std::vector<double> line_basins(const Energy1 &e, const std::function<int(double)> &basin,
                                int n_basins, Range start, double kT, bool whole_line = true) {
    const Range r = whole_line ? tails(e, start, kT) : start;
    const double shift = scan_min(e, r.lo, r.hi);
    const int panels = 4000;
    std::vector<double> p(n_basins, 0.0);
    // A basin of -1 (a point in none, e.g. beyond sine_fit's scanned range) takes no weight.
    const auto add = [&](int b, double from, double to) {
        if (b >= 0 && b < n_basins)
            p[b] += panel(e, shift, kT, from, to);
    };
    for (int k = 0; k < panels; ++k) {
        const double a = r.lo + (r.hi - r.lo) * k / panels;
        // The last panel ends at hi itself (the formula can round one ulp past it).
        const double b = k + 1 == panels ? r.hi : r.lo + (r.hi - r.lo) * (k + 1) / panels;
        const int ba = basin(a), bb = basin(b);
        if (ba == bb) {
            add(ba, a, b);
            continue;
        }
        double lo = a, hi = b;
        for (int i = 0; i < 80; ++i) {
            const double mid = 0.5 * (lo + hi);
            (basin(mid) == ba ? lo : hi) = mid;
        }
        add(ba, a, lo);
        add(bb, lo, b);
    }
    return normalise(p);
}

} // namespace

std::vector<double> boltzmann_marginal(const Model &model, int d, const Axis &axis, double kT) {
    if (!(kT > 0))
        return {};
    Energy1 e;
    const bool ok =
        std::visit([&](const auto &pot) { return marginal_energy(pot, d, e); }, model.potential);
    if (!ok)
        return {};
    const double shift = scan_min(e, axis.lo, axis.hi);
    const double width = (axis.hi - axis.lo) / axis.bins;
    // One 8-node panel per bin is not enough when a well is narrow beside a bin (a 1e-3 error in
    // the peak bin at 8 standard deviations per bin): halve the panels until no bin moves.
    auto bins_with = [&](int panels) {
        std::vector<double> p(axis.bins, 0.0);
        for (int b = 0; b < axis.bins; ++b)
            for (int k = 0; k < panels; ++k)
                p[b] += panel(e, shift, kT, axis.lo + (b + double(k) / panels) * width,
                              axis.lo + (b + double(k + 1) / panels) * width);
        return p;
    };
    std::vector<double> p = bins_with(1);
    for (int panels = 2; panels <= 256; panels *= 2) {
        std::vector<double> finer = bins_with(panels);
        bool same = true;
        for (int b = 0; b < axis.bins; ++b)
            same = same && std::fabs(finer[b] - p[b]) <= 1e-12 * finer[b];
        p = std::move(finer);
        if (same)
            break;
    }
    return normalise(p);
}

namespace {

using Basin2 = std::function<int(double, double)>;
constexpr std::size_t kPanelNodes = 4; // 2 x 2 Gauss-Legendre nodes per panel
/// One node of a quadrature over part of the plane: its weight (area included), its position
/// and its basin.
using Leaf = std::function<void(double weight, double x, double y, int basin)>;

/// Passes the 2 x 2 Gauss-Legendre nodes of panel r, whose corners (x.lo y.lo, x.hi y.lo,
/// x.lo y.hi, x.hi y.hi) lie in basins `corners`, to `leaf`, by its four quarters: a quarter whose
/// corners and nodes lie in one basin passes its nodes, one that a basin boundary crosses is
/// quartered again, `depth` times in all (then its nodes' basins stand: an error of the order of
/// its width along the boundary).
void quartered_basins(const Basin2 &basin, const Rect &r, const std::array<int, 4> &corners,
                      int depth, const Leaf &leaf) {
    const Rule &q = rule<2>();
    const double cx = 0.5 * (r.x.lo + r.x.hi), cy = 0.5 * (r.y.lo + r.y.hi);
    const int bottom = basin(cx, r.y.lo), top = basin(cx, r.y.hi), left = basin(r.x.lo, cy),
              right = basin(r.x.hi, cy), centre = basin(cx, cy);
    const Rect quarters[4] = {{{r.x.lo, cx}, {r.y.lo, cy}},
                              {{cx, r.x.hi}, {r.y.lo, cy}},
                              {{r.x.lo, cx}, {cy, r.y.hi}},
                              {{cx, r.x.hi}, {cy, r.y.hi}}};
    const std::array<int, 4> quarter_corners[4] = {{corners[0], bottom, left, centre},
                                                   {bottom, corners[1], centre, right},
                                                   {left, centre, corners[2], top},
                                                   {centre, right, top, corners[3]}};
    for (int c = 0; c < 4; ++c) {
        const Rect &s = quarters[c];
        const double hx = 0.5 * (s.x.hi - s.x.lo), hy = 0.5 * (s.y.hi - s.y.lo);
        const double mx = 0.5 * (s.x.lo + s.x.hi), my = 0.5 * (s.y.lo + s.y.hi);
        const std::array<int, 4> &k = quarter_corners[c];
        bool one = k[1] == k[0] && k[2] == k[0] && k[3] == k[0];
        double x[4], y[4];
        int b[4];
        for (int u = 0; u < 2; ++u)
            for (int v = 0; v < 2; ++v) {
                const int i = 2 * u + v;
                x[i] = mx + hx * q.x[std::size_t(u)];
                y[i] = my + hy * q.x[std::size_t(v)];
                b[i] = basin(x[i], y[i]);
                one = one && b[i] == k[0];
            }
        if (!one && depth > 1) {
            quartered_basins(basin, s, k, depth - 1, leaf);
            continue;
        }
        for (int i = 0; i < 4; ++i)
            leaf(q.w[std::size_t(i / 2)] * q.w[std::size_t(i % 2)] * hx * hy, x[i], y[i], b[i]);
    }
}

/// The leaves of a crossed panel's quartering, kept to be reweighed at other temperatures.
struct Leaves {
    std::vector<double> weight, energy;
    std::vector<int> basin;
};

/// Basin probabilities of a 1-D potential on the line (on its default range where the law lives
/// there only).
template <class Pot> std::vector<double> basins_on_line(const Pot &pot, int n, double kT) {
    const Energy1 e = [&pot](double x) { return pot.energy(Vec<double, 1>{{x}}); };
    return line_basins(
        e, [&pot](double x) { return pot.basin(Vec<double, 1>{{x}}); }, n, pot.default_range(0), kT,
        !is_confined<Pot>);
}

} // namespace

/// The basin quadrature of a 2-D study's plane (plane_nodes, widened as the hottest T needs): the
/// 2x2 Gauss-Legendre nodes of a 160 x 160 panel mesh of the grid, 8 times coarser around it, each
/// classified by the walkers' own rule. A panel that a basin boundary crosses (its corners and
/// nodes are not all in one basin) is quartered instead, kQuarterings times where the boundary
/// runs: node by node, such panels made errors of the order of their width (5e-3 of Ackley's
/// global basin in 2-D where +-0.5 fell inside panels). None of it depends on the temperature
/// but how far the plane reaches, so it is kept for every T a study samples; the leaves of the
/// quarterings are kept too where the basin rule is a descent (Müller–Brown: 1.3-2.3 s for
/// the plane on 2 cores); where it is cheap only the leaves' energies are kept (leaf_energies).
namespace detail {
struct BasinPlane {
    PlaneNodes nodes;
    std::vector<int> basin;                  ///< of each node
    std::vector<std::array<int, 4>> corners; ///< basins of each panel's corners
    std::vector<char> crossed;               ///< of each panel
    std::vector<Leaves> leaves;              ///< of each crossed panel, where kept
    /// Else the energies of each crossed panel's leaves in the order quartered_basins visits
    /// them, recorded at the first T where they all fit kKeptLeafEnergies (Ackley's 12
    /// quarterings: ~5e4 per panel; the basin rule is cheap, the energy not).
    std::vector<std::vector<double>> leaf_energies;
    bool leaf_energies_recorded = false; ///< tried: kept in leaf_energies, or too many
};

/// What a study's references keep across temperatures (BoltzmannReferences).
struct PlaneCache {
    PlaneScans scans;
    std::pair<double, std::vector<std::vector<double>>> marginals; ///< the last T's
    std::vector<double> joint_energies;
    std::unique_ptr<BasinPlane> basins;
    PlaneNodes moments; ///< energy_moments' plane (widenings -1: none yet)
    /// A convex E's moment plane is evaluated panel by panel where a T takes it (screen_cells).
    ConvexBounds moment_bounds;
    std::vector<char> moment_evaluated; ///< of each panel
};
} // namespace detail

namespace {

std::unique_ptr<detail::BasinPlane> plane_basins(const Basin2 &basin_at, const Energy2 &energy,
                                                 const Rect &rect, int k, int quarterings,
                                                 bool keep, Stop &stop) {
    auto plane = std::make_unique<detail::BasinPlane>();
    plane->nodes = plane_nodes(energy, rect, k, 160, 8, rule<2>(), stop);
    const PlaneNodes &nodes = plane->nodes;
    plane->basin.resize(nodes.x.size());
#pragma omp parallel for schedule(dynamic, 1024)
    for (std::size_t i = 0; i < nodes.x.size(); ++i)
        if (!stop.now(i % 64 == 0))
            plane->basin[i] = basin_at(nodes.x[i], nodes.y[i]);
    stop.check();
    const std::size_t panels = nodes.panels.size();
    plane->corners.resize(panels);
    plane->crossed.assign(panels, 0);
    if (keep)
        plane->leaves.resize(panels);
#pragma omp parallel for schedule(dynamic, 64)
    for (std::size_t c = 0; c < panels; ++c) {
        if (stop.now())
            continue;
        const Rect &r = nodes.panels[c];
        std::array<int, 4> &corners = plane->corners[c];
        corners = {basin_at(r.x.lo, r.y.lo), basin_at(r.x.hi, r.y.lo), basin_at(r.x.lo, r.y.hi),
                   basin_at(r.x.hi, r.y.hi)};
        bool one = corners[1] == corners[0] && corners[2] == corners[0] && corners[3] == corners[0];
        for (std::size_t i = c * kPanelNodes; i < (c + 1) * kPanelNodes; ++i)
            one = one && plane->basin[i] == corners[0];
        plane->crossed[c] = !one;
        if (one || !keep)
            continue;
        Leaves &l = plane->leaves[c];
        quartered_basins(basin_at, r, corners, quarterings,
                         [&](double w, double x, double y, int b) {
                             l.weight.push_back(w);
                             l.energy.push_back(energy(x, y));
                             l.basin.push_back(b);
                         });
    }
    stop.check();
    plane->nodes.forget_positions();
    return plane;
}

} // namespace

BoltzmannReferences::BoltzmannReferences(const Model &model, const Grid &grid, double convex_margin)
    : model_(model), grid_(grid), convex_margin_(convex_margin),
      cache_(std::make_unique<detail::PlaneCache>()) {
    LGV_REQUIRE(convex_margin > 0, "BoltzmannReferences: convex_margin = ", convex_margin,
                " must be > 0 (infinity: leave nothing out)");
}
BoltzmannReferences::~BoltzmannReferences() = default;

void BoltzmannReferences::interrupt_when(std::function<bool()> asked) {
    asked_ = std::move(asked);
}

template <class Body> auto BoltzmannReferences::interruptible(Body &&body) {
    Stop stop(asked_);
    try {
        return body(stop);
    } catch (const Interrupted &) {
        cache_ = std::make_unique<detail::PlaneCache>();
        throw;
    }
}

std::vector<double> BoltzmannReferences::joint(double kT) {
    return interruptible([&](Stop &stop) { return joint(kT, stop); });
}

std::vector<double> BoltzmannReferences::basins(double kT) {
    return interruptible([&](Stop &stop) { return basins(kT, stop); });
}

std::vector<double> BoltzmannReferences::energy_moments(double kT) {
    return interruptible([&](Stop &stop) { return energy_moments(kT, stop); });
}

const std::vector<std::vector<double>> &BoltzmannReferences::marginals(double kT) {
    auto &[last_kT, out] = cache_->marginals; // the joint of a separable law asks again
    if (last_kT == kT && !out.empty())
        return out;
    last_kT = kT;
    out.clear();
    const bool same =
        std::visit([](const auto &pot) { return kSameCoordinates<std::decay_t<decltype(pot)>>; },
                   model_.potential);
    for (int d = 0; d < model_.dim(); ++d) {
        const Axis &a = grid_.axes[d];
        int like = -1;
        for (int c = 0; c < d && same && like < 0; ++c)
            if (grid_.axes[c].lo == a.lo && grid_.axes[c].hi == a.hi &&
                grid_.axes[c].bins == a.bins)
                like = c;
        out.push_back(like >= 0 ? out[std::size_t(like)] : boltzmann_marginal(model_, d, a, kT));
    }
    return out;
}

std::vector<double> BoltzmannReferences::joint(double kT, Stop &stop) {
    if (!(kT > 0) || model_.dim() != 2)
        return {};
    const Axis &a0 = grid_.axes[0], &a1 = grid_.axes[1];
    // A separable law is the product of its marginals, bin by bin: exact, where the plane's
    // quadrature refined every steep bin again at each T (rastrigin at 64 x 64 bins: 55 ms a T).
    const bool separable = std::visit(
        [](const auto &pot) { return std::decay_t<decltype(pot)>::separable; }, model_.potential);
    if (separable) {
        const std::vector<std::vector<double>> &m = marginals(kT);
        const std::vector<double> &px = m[0], &py = m[1];
        if (px.empty() || py.empty())
            return {};
        std::vector<double> p(px.size() * py.size());
        for (std::size_t i = 0; i < px.size(); ++i)
            for (std::size_t j = 0; j < py.size(); ++j)
                p[i * py.size() + j] = px[i] * py[j];
        return p;
    }
    std::function<double(double, double)> e;
    const bool ok = std::visit(
        [&](const auto &pot) {
            using Pot = std::decay_t<decltype(pot)>;
            if constexpr (std::is_same_v<Pot, Free>) {
                return false;
            } else if constexpr (Pot::fixed_dim == 0 || Pot::fixed_dim == 2) {
                e = [pot](double x, double y) { return pot.energy(Vec<double, 2>{{x, y}}); };
                return true;
            } else {
                return false;
            }
        },
        model_.potential);
    if (!ok)
        return {};
    const Rule &r = rule();
    const double w0 = (a0.hi - a0.lo) / a0.bins, w1 = (a1.hi - a1.lo) / a1.bins;
    // Energies at every node first, then the shift, then the factors.
    const std::size_t q = r.x.size();
    // Every bin's node energies, kept up to kKeptJointNodes (a 256 x 256 grid, 32 MB; 1000 x 1000
    // bins would hold 0.5 GB through the run), else evaluated again at each T.
    constexpr std::size_t kKeptJointNodes = std::size_t(1) << 22;
    const std::size_t count = std::size_t(a0.bins) * a1.bins * q * q;
    std::vector<double> fresh;
    std::vector<double> &energies = count <= kKeptJointNodes ? cache_->joint_energies : fresh;
    if (energies.empty()) {
        energies.resize(count);
        // Threads evaluate, each value in its own slot: the results do not depend on their number.
#pragma omp parallel for schedule(dynamic)
        for (int i = 0; i < a0.bins; ++i)
            for (int j = 0; j < a1.bins && !stop.now(); ++j)
                for (std::size_t u = 0; u < q; ++u)
                    for (std::size_t v = 0; v < q; ++v) {
                        const double x = a0.lo + w0 * (i + 0.5 + 0.5 * r.x[u]);
                        const double y = a1.lo + w1 * (j + 0.5 + 0.5 * r.x[v]);
                        energies[((std::size_t(i) * a1.bins + j) * q + u) * q + v] = e(x, y);
                    }
        stop.check();
    }
    const double emin = *std::min_element(energies.begin(), energies.end());
    // One 8 x 8 panel per bin is exact to ~5e-12 while E/kT varies by at most 1/2 over its nodes
    // (a well 2 standard deviations across; 2e-14 at 1/4). A bin where it varies by S > 1/2 (a
    // narrow well, a steep wall) is split into s x s panels, s = ceil(max(sqrt(2 S), S / 4)) up to
    // 16: a well's variation falls as 1/s^2 per panel, a slope's as 1/s (8 nodes integrate exp over
    // a variation of 4 to ~3e-13). But where E/kT is mostly a plane (varying by up to 4 across the
    // bin, the rest by up to 1/2 over its nodes), the bin is kept whole when 7 x 7 nodes give
    // its value to 1e-13 of the 8 x 8's: slopes split like wells made logistic regression at
    // T = 0.05 evaluate 2.4 times the bins' own nodes again. No rule on the shape alone would do:
    // a slope of 4 with a concave rest of 1/2 leaves 8 nodes 1.7e-9 off, a cubic rest 1e-6.
    const Rule &check = rule<7>();
    double node_squares = 0; // sum of t^2 over the rule's nodes t in [-1, 1]
    for (std::size_t u = 0; u < q; ++u)
        node_squares += r.x[u] * r.x[u];
    auto bin_panel = [&](int i, int j, int s, int a, int b) {
        double sum = 0;
        for (std::size_t u = 0; u < q; ++u)
            for (std::size_t v = 0; v < q; ++v) {
                const double x = a0.lo + w0 * (i + (a + 0.5 + 0.5 * r.x[u]) / s);
                const double y = a1.lo + w1 * (j + (b + 0.5 + 0.5 * r.x[v]) / s);
                sum += r.w[u] * r.w[v] * std::exp(-(e(x, y) - emin) / kT);
            }
        return sum / (double(s) * s);
    };
    std::vector<double> p(std::size_t(a0.bins) * a1.bins, 0.0);
#pragma omp parallel for schedule(dynamic)
    for (std::size_t bin = 0; bin < p.size(); ++bin) {
        if (stop.now())
            continue;
        const double *en = &energies[bin * q * q]; // en[u q + v] at (t_u, t_v)
        const auto [lo, hi] = std::minmax_element(en, en + q * q);
        const double spread = (*hi - *lo) / kT;
        // A bin whose largest factor is below 1e-20 of the peak node's holds nothing that shows.
        const bool negligible = (*lo - emin) / kT > 46.0;
        auto whole = [&] {
            double sum = 0;
            for (std::size_t u = 0; u < q; ++u)
                for (std::size_t v = 0; v < q; ++v)
                    sum += r.w[u] * r.w[v] * std::exp(-(en[u * q + v] - emin) / kT);
            return sum;
        };
        if (spread <= 0.5 || !std::isfinite(spread) || negligible) {
            p[bin] = whole();
            continue;
        }
        // Mostly a plane: the least-squares plane mean + gx t + gy t' through the nodes
        // (symmetric about 0) varies by <= 4 across the bin, the rest by <= 1/2 over its nodes.
        auto planar = [&] {
            double mean = 0, gx = 0, gy = 0;
            for (std::size_t u = 0; u < q; ++u)
                for (std::size_t v = 0; v < q; ++v) {
                    mean += en[u * q + v];
                    gx += en[u * q + v] * r.x[u];
                    gy += en[u * q + v] * r.x[v];
                }
            mean /= double(q * q);
            gx /= q * node_squares;
            gy /= q * node_squares;
            double rest_lo = std::numeric_limits<double>::infinity(), rest_hi = -rest_lo;
            for (std::size_t u = 0; u < q; ++u)
                for (std::size_t v = 0; v < q; ++v) {
                    const double rest = en[u * q + v] - mean - gx * r.x[u] - gy * r.x[v];
                    rest_lo = std::min(rest_lo, rest);
                    rest_hi = std::max(rest_hi, rest);
                }
            return (rest_hi - rest_lo) / kT <= 0.5 && 2 * (std::abs(gx) + std::abs(gy)) / kT <= 4;
        };
        const int i = int(bin / a1.bins), j = int(bin % a1.bins);
        if (planar()) {
            const double eight = whole();
            double seven = 0;
            for (std::size_t u = 0; u < check.x.size(); ++u)
                for (std::size_t v = 0; v < check.x.size(); ++v) {
                    const double x = a0.lo + w0 * (i + 0.5 + 0.5 * check.x[u]);
                    const double y = a1.lo + w1 * (j + 0.5 + 0.5 * check.x[v]);
                    seven += check.w[u] * check.w[v] * std::exp(-(e(x, y) - emin) / kT);
                }
            if (std::abs(eight - seven) <= 1e-13 * eight) {
                p[bin] = eight;
                continue;
            }
        }
        const int s = int(std::min(16.0, std::ceil(std::max(std::sqrt(2 * spread), spread / 4))));
        for (int a = 0; a < s; ++a)
            for (int b = 0; b < s; ++b)
                p[bin] += bin_panel(i, j, s, a, b);
    }
    stop.check();
    return normalise(p);
}

std::vector<double> BoltzmannReferences::basins(double kT, Stop &stop) {
    if (!(kT > 0))
        return {};
    return std::visit(
        [&](const auto &pot) -> std::vector<double> {
            using Pot = std::decay_t<decltype(pot)>;
            const int n = pot.basin_count();
            if (n == 0)
                return {};
            if constexpr (Pot::product_basins) {
                // P(global) = prod_d P(x_d in its global cell): coordinates are independent.
                double global = 1.0;
                std::vector<double> p;
                for (int d = 0; d < pot.dim; ++d) {
                    const Energy1 e = [&pot, d](double x) { return pot.coord_energy(d, x); };
                    if (d == 0 || !kSameCoordinates<Pot>)
                        p = line_basins(
                            e, [&pot, d](double x) { return pot.coord_basin(d, x); }, 2,
                            pot.default_range(d), kT);
                    if (p.empty())
                        return {};
                    global *= p[0];
                }
                return {global, 1.0 - global};
            }
            if constexpr (Pot::fixed_dim == 1) {
                return basins_on_line(pot, n, kT);
            } else if constexpr (Pot::fixed_dim == 0 || Pot::fixed_dim == 2) {
                if constexpr (Pot::fixed_dim == 0)
                    if (pot.dim == 1)
                        return basins_on_line(pot, n, kT); // any dimension, in 1-D (ackley)
                if (pot.dim != 2)
                    return {};
                Energy2 energy;
                const auto [rect, k] = plane_of(pot, grid_, kT, energy, cache_->scans, stop);
                if (k < 0)
                    return {};
                const Basin2 basin_at = [&pot](double x, double y) {
                    return pot.basin(Vec<double, 2>{{x, y}});
                };
                constexpr int kQuarterings = kDescends<Pot> ? 3 : 12; // descents are costly
                std::unique_ptr<detail::BasinPlane> &kept = cache_->basins;
                if (!kept || kept->nodes.widenings < k) {
                    kept.reset(); // not two planes at once
                    kept =
                        plane_basins(basin_at, energy, rect, k, kQuarterings, kDescends<Pot>, stop);
                }
                detail::BasinPlane &plane = *kept;
                constexpr std::size_t kKeptLeafEnergies = std::size_t(1) << 22; // 32 MB
                const bool record = plane.leaves.empty() && !plane.leaf_energies_recorded;
                std::vector<std::vector<double>> recorded(record ? plane.crossed.size() : 0);
                const PlaneNodes &nodes = plane.nodes;
                const int rings = nodes.ring_of(k);
                const std::vector<double> &e = nodes.energy, &weight = nodes.weight;
                double emin = std::numeric_limits<double>::infinity();
                for (std::size_t c = 0; c < nodes.panels.size(); ++c)
                    if (nodes.ring[c] <= rings)
                        for (std::size_t i = c * kPanelNodes; i < (c + 1) * kPanelNodes; ++i)
                            emin = std::min(emin, e[i]);
                // Each crossed panel's weights in its own slot: the same for any thread count.
                std::vector<std::vector<double>> crossed(nodes.panels.size());
#pragma omp parallel for schedule(dynamic, 64)
                for (std::size_t c = 0; c < nodes.panels.size(); ++c) {
                    if (!plane.crossed[c] || nodes.ring[c] > rings || stop.now())
                        continue;
                    std::vector<double> &p = crossed[c];
                    p.assign(std::size_t(n), 0.0);
                    const auto add = [&](double w, double en, int b) {
                        if (b >= 0 && b < n)
                            p[std::size_t(b)] += w * std::exp(-(en - emin) / kT);
                    };
                    if (!plane.leaves.empty()) {
                        const Leaves &l = plane.leaves[c];
                        for (std::size_t i = 0; i < l.weight.size(); ++i)
                            add(l.weight[i], l.energy[i], l.basin[i]);
                    } else if (!plane.leaf_energies.empty()) {
                        const std::vector<double> &en = plane.leaf_energies[c];
                        std::size_t next = 0;
                        quartered_basins(
                            basin_at, nodes.panels[c], plane.corners[c], kQuarterings,
                            [&](double w, double, double, int b) { add(w, en[next++], b); });
                    } else {
                        quartered_basins(basin_at, nodes.panels[c], plane.corners[c], kQuarterings,
                                         [&](double w, double x, double y, int b) {
                                             const double en = energy(x, y);
                                             if (record)
                                                 recorded[c].push_back(en);
                                             add(w, en, b);
                                         });
                    }
                }
                stop.check();
                if (record) {
                    plane.leaf_energies_recorded = true;
                    std::size_t count = 0;
                    for (const auto &l : recorded)
                        count += l.size();
                    // Only a plane's own widening visits all its crossed panels.
                    if (count <= kKeptLeafEnergies && rings == nodes.ring_of(nodes.widenings))
                        plane.leaf_energies = std::move(recorded);
                }
                std::vector<double> p(n, 0.0);
                for (std::size_t c = 0; c < nodes.panels.size(); ++c) {
                    if (nodes.ring[c] > rings)
                        continue;
                    if (plane.crossed[c]) {
                        for (int b = 0; b < n; ++b)
                            p[std::size_t(b)] += crossed[c][std::size_t(b)];
                        continue;
                    }
                    for (std::size_t i = c * kPanelNodes; i < (c + 1) * kPanelNodes; ++i)
                        if (plane.basin[i] >= 0 && plane.basin[i] < n) // -1: in no basin
                            p[std::size_t(plane.basin[i])] +=
                                weight[i] * std::exp(-(e[i] - emin) / kT);
                }
                return normalise(p);
            } else {
                return {};
            }
        },
        model_.potential);
}

std::vector<double> boltzmann_basins(const Model &model, const Grid &grid, double kT) {
    return BoltzmannReferences(model, grid).basins(kT);
}

std::vector<double> boltzmann_joint(const Model &model, const Axis &a0, const Axis &a1, double kT) {
    Grid grid;
    grid.dim = 2;
    grid.axes[0] = a0;
    grid.axes[1] = a1;
    return BoltzmannReferences(model, grid).joint(kT);
}

PotentialMap potential_map(const Model &model, const Axis &a0, const Axis &a1) {
    PotentialMap map;
    if (model.dim() != 2)
        return map;
    std::visit(
        [&](const auto &pot) {
            using Pot = std::decay_t<decltype(pot)>;
            if constexpr (Pot::fixed_dim == 0 || Pot::fixed_dim == 2) {
                for (int i = 0; i < a0.bins; ++i)
                    for (int j = 0; j < a1.bins; ++j) {
                        const Vec<double, 2> x{{a0.lo + (a0.hi - a0.lo) * (i + 0.5) / a0.bins,
                                                a1.lo + (a1.hi - a1.lo) * (j + 0.5) / a1.bins}};
                        map.energy.push_back(pot.energy(x));
                        map.basin.push_back(pot.basin_count() > 0 ? pot.basin(x) : -1);
                    }
            }
        },
        model.potential);
    return map;
}

} // namespace langevin

namespace langevin {
namespace {

/// The 1-D energy of a one-dimensional model, and its force -E'(x) when asked, if it is one.
bool line_energy(const Model &model, Energy1 &out, Energy1 *force = nullptr) {
    if (model.dim() != 1)
        return false;
    return std::visit(
        [&](const auto &pot) {
            using Pot = std::decay_t<decltype(pot)>;
            // A confined law (E bounded far away) has no passage integrals over the line.
            if constexpr (std::is_same_v<Pot, Free> || Pot::fixed_dim > 1 || is_confined<Pot>) {
                return false;
            } else {
                out = [pot](double x) { return double(pot.energy(Vec<double, 1>{{x}})); };
                if (force)
                    *force = [pot](double x) { return double(pot.force(Vec<double, 1>{{x}})[0]); };
                return true;
            }
        },
        model.potential);
}

/// <E> and Var E of a 1-D Boltzmann factor over the real line.
std::vector<double> line_energy_moments(const Energy1 &e, Range start, double kT,
                                        bool whole_line = true) {
    const Range r = whole_line ? tails(e, start, kT) : start;
    const double shift = scan_min(e, r.lo, r.hi);
    const Rule &rule_ = rule();
    const int panels = 4000;
    double z = 0, m1 = 0, m2 = 0;
    for (int k = 0; k < panels; ++k) {
        const double a = r.lo + (r.hi - r.lo) * k / panels, b = a + (r.hi - r.lo) / panels;
        for (std::size_t i = 0; i < rule_.x.size(); ++i) {
            const double x = 0.5 * (a + b) + 0.5 * (b - a) * rule_.x[i];
            const double en = e(x), w = rule_.w[i] * std::exp(-(en - shift) / kT);
            z += w;
            m1 += w * en;
            m2 += w * en * en;
        }
    }
    const double mean = m1 / z;
    return {mean, m2 / z - mean * mean};
}

} // namespace

std::vector<double> boltzmann_energy_moments(const Model &model, const Grid &grid, double kT) {
    return BoltzmannReferences(model, grid).energy_moments(kT);
}

std::vector<double> BoltzmannReferences::energy_moments(double kT, Stop &stop) {
    if (!(kT > 0))
        return {};
    return std::visit(
        [&](const auto &pot) -> std::vector<double> {
            using Pot = std::decay_t<decltype(pot)>;
            if constexpr (std::is_same_v<Pot, Free>) {
                return {};
            } else if constexpr (Pot::separable) {
                double mean = 0, var = 0;
                std::vector<double> m;
                for (int d = 0; d < pot.dim; ++d) {
                    const Energy1 e = [&pot, d](double x) { return pot.coord_energy(d, x); };
                    if (d == 0 || !kSameCoordinates<Pot>)
                        m = line_energy_moments(e, pot.default_range(d), kT);
                    mean += m[0];
                    var += m[1];
                }
                return {mean, var};
            } else if constexpr (Pot::fixed_dim == 0 || Pot::fixed_dim == 1 ||
                                 Pot::fixed_dim == 2) {
                if constexpr (Pot::fixed_dim != 2) {
                    if (pot.dim == 1) {
                        const Energy1 e = [&pot](double x) {
                            return pot.energy(Vec<double, 1>{{x}});
                        };
                        return line_energy_moments(e, pot.default_range(0), kT, !is_confined<Pot>);
                    }
                }
                if (pot.dim != 2)
                    return {};
                // Over the plane where exp(-E/T) matters, as the walkers' <E> counts them all:
                // 4x4 Gauss-Legendre nodes on a 200 x 200 panel mesh of the grid, 4 times
                // coarser around it; kept for every T, as far as the hottest needs. A convex E
                // evaluates only the cells screen_cells takes at this T (and keeps them).
                Energy2 energy;
                const auto [rect, k] = plane_of(pot, grid_, kT, energy, cache_->scans, stop);
                if (k < 0)
                    return {};
                // (scans[0] holds the grid's lowest energy; a confined law has none.)
                const bool screen =
                    kConvex<Pot> && std::isfinite(convex_margin_) && !cache_->scans.empty();
                PlaneNodes &nodes = cache_->moments;
                std::vector<char> &evaluated = cache_->moment_evaluated;
                detail::ConvexBounds &bounds = cache_->moment_bounds;
                if (nodes.widenings < k) {
                    nodes = PlaneNodes{}; // not two planes at once
                    nodes = plane_nodes(energy, rect, k, 200, 4, rule<4>(), stop, !screen);
                    nodes.forget_positions();
                    if (screen) {
                        evaluated.assign(nodes.panels.size(), 0);
                        bounds = detail::ConvexBounds(-nodes.ring_of(k),
                                                      nodes.per_width + nodes.ring_of(k));
                    }
                }
                const std::vector<double> &es = nodes.energy, &ws = nodes.weight;
                const std::size_t per_panel = es.size() / nodes.panels.size();
                const int rings = nodes.ring_of(k);
                std::vector<char> taken; // of each cell (empty: all)
                if (screen) {
                    const Force2 force = [&pot](double x, double y) {
                        const Vec<double, 2> f = pot.force(Vec<double, 2>{{x, y}});
                        return std::array<double, 2>{f[0], f[1]};
                    };
                    taken = screen_cells(bounds, energy, force, rect, nodes.per_width, rings,
                                         cache_->scans[0].lowest + convex_margin_ * kT, stop);
                }
                const int cells = bounds.hi - bounds.lo;
                auto in_use = [&](std::size_t c) {
                    return nodes.ring[c] <= rings &&
                           (taken.empty() ||
                            taken[std::size_t(nodes.cell[c][0] - bounds.lo) * cells +
                                  (nodes.cell[c][1] - bounds.lo)]);
                };
                if (screen) {
                    std::vector<std::size_t> pending;
                    for (std::size_t c = 0; c < nodes.panels.size(); ++c)
                        if (!evaluated[c] && in_use(c))
                            pending.push_back(c);
#pragma omp parallel for schedule(dynamic, 16)
                    for (std::size_t t = 0; t < pending.size(); ++t) {
                        if (stop.now())
                            continue;
                        std::size_t i = pending[t] * per_panel;
                        panel_nodes(
                            nodes.panels[pending[t]], rule<4>(),
                            [&](double x, double y, double) { nodes.energy[i++] = energy(x, y); });
                        evaluated[pending[t]] = 1;
                    }
                    stop.check();
                }
                double emin = std::numeric_limits<double>::infinity();
                for (std::size_t c = 0; c < nodes.panels.size(); ++c)
                    if (in_use(c))
                        for (std::size_t i = c * per_panel; i < (c + 1) * per_panel; ++i)
                            emin = std::min(emin, es[i]);
                double z = 0, m1 = 0, m2 = 0;
                for (std::size_t c = 0; c < nodes.panels.size(); ++c) {
                    if (!in_use(c))
                        continue;
                    for (std::size_t i = c * per_panel; i < (c + 1) * per_panel; ++i) {
                        const double w = ws[i] * std::exp(-(es[i] - emin) / kT);
                        z += w;
                        m1 += w * es[i];
                        m2 += w * es[i] * es[i];
                    }
                }
                if (!(z > 0))
                    return {};
                const double mean = m1 / z;
                return {mean, m2 / z - mean * mean};
            } else {
                return {};
            }
        },
        model_.potential);
}

double exact_mean_first_passage(const Model &model, double x0, double b, double kT, double gamma) {
    Energy1 e0;
    if (!line_energy(model, e0) || !(kT > 0) || x0 == b)
        return kNotAvailableValue();
    // Mirror so that the target is always above: x > b.
    const double sign = b > x0 ? 1.0 : -1.0;
    const Energy1 e = [&](double x) { return e0(sign * x); };
    const double start = sign * x0, level = sign * b;
    const Range r = tails(e, Range{std::min(start, level) - 1.0, level}, kT);
    if (!lower_tail_reached(e, r, kT))
        return kNotAvailableValue();
    const double lo = std::min(r.lo, start - 1.0);
    const double shift = scan_min(e, lo, level);
    const double peak = [&] {
        double m = -std::numeric_limits<double>::infinity();
        for (int i = 0; i <= 4096; ++i)
            m = std::max(m, e(start + (level - start) * i / 4096.0));
        return m;
    }();
    // Inner I(y) = int_lo^y e^{-(E - shift)/T}, outer int_start^level e^{(E - peak)/T} I(y) dy,
    // both by Gauss-Legendre on the same panels; I at a node adds the partial panel.
    const Rule &q = rule();
    const int panels = 20000;
    double inner = 0; // I(start)
    for (int k = 0; k < panels; ++k)
        inner += panel(e, shift, kT, lo + (start - lo) * k / panels,
                       lo + (start - lo) * (k + 1) / panels);
    const double h = (level - start) / panels;
    double outer = 0;
    for (int k = 0; k < panels; ++k) {
        const double a = start + h * k, c = a + h;
        for (std::size_t i = 0; i < q.x.size(); ++i) {
            const double y = 0.5 * (a + c) + 0.5 * h * q.x[i];
            const double partial = panel(e, shift, kT, a, y);
            outer += 0.5 * h * q.w[i] * std::exp((e(y) - peak) / kT) * (inner + partial);
        }
        inner += panel(e, shift, kT, a, c);
    }
    // Restore the shifts: e^{(E - peak)/T} e^{-(E - shift)/T} = e^{E/T} e^{-E/T} e^{(peak -
    // shift)/T}.
    return gamma / kT * outer * std::exp((peak - shift) / kT);
}

double exact_discrete_mean_first_passage(const Model &model, double x0, double b, double kT,
                                         double gamma, double dt) {
    Energy1 e0, f0;
    if (!line_energy(model, e0, &f0) || !(kT > 0) || !(dt > 0) || !(gamma > 0) || x0 == b)
        return kNotAvailableValue();
    // Mirrored so that the target is always above the level.
    const double sign = b > x0 ? 1.0 : -1.0;
    const Energy1 e = [&](double x) { return e0(sign * x); };
    const auto next_mean = [&](double x) { return x + sign * f0(sign * x) * dt / gamma; };
    const double start = sign * x0, level = sign * b, width = std::sqrt(2 * kT * dt / gamma);
    const Range r = tails(e, Range{std::min(start, level) - 1.0, level}, kT);
    if (!lower_tail_reached(e, r, kT))
        return kNotAvailableValue();
    const double lo = std::min(r.lo, start - 1.0);
    // Nodes: 8-point Gauss-Legendre panels at most one kernel width wide, sorted.
    // Wider panels would break the rule (beyond 4 widths: wrong values), so a system too large
    // for memory is not available rather than approximated.
    const double panel_count = std::ceil((level - lo) / width);
    if (!(panel_count <= 65536))
        return kNotAvailableValue();
    const int panels = int(panel_count);
    const Rule &q = rule();
    const double h = (level - lo) / panels;
    std::vector<std::pair<double, double>> nodes; // (y, weight)
    for (int k = 0; k < panels; ++k)
        for (std::size_t i = 0; i < q.x.size(); ++i)
            nodes.emplace_back(lo + h * (k + 0.5 + 0.5 * q.x[i]), 0.5 * h * q.w[i]);
    std::sort(nodes.begin(), nodes.end());
    const std::size_t n = nodes.size();
    std::vector<double> y(n);
    for (std::size_t i = 0; i < n; ++i)
        y[i] = nodes[i].first;
    // K(x, y) w_y over the nodes within 10 kernel widths of the mean step (beyond: < 1e-21).
    const double norm = 1.0 / (width * std::sqrt(2 * M_PI));
    auto row_range = [&](double mean) {
        if (!std::isfinite(mean))
            return std::pair<std::size_t, std::size_t>{0, 0};
        const auto a = std::lower_bound(y.begin(), y.end(), mean - 10 * width);
        const auto c = std::upper_bound(y.begin(), y.end(), mean + 10 * width);
        return std::pair<std::size_t, std::size_t>(a - y.begin(), c - y.begin());
    };
    auto kernel = [&](double mean, std::size_t j) {
        const double z = (y[j] - mean) / width;
        return nodes[j].second * norm * std::exp(-0.5 * z * z);
    };
    std::vector<double> means(n);
    std::size_t below = 0, above = 0; // band widths of (I - K) below and above the diagonal
    for (std::size_t i = 0; i < n; ++i) {
        means[i] = next_mean(y[i]);
        const auto [a, c] = row_range(means[i]);
        if (a < c) {
            below = std::max(below, i > a ? i - a : 0);
            above = std::max(above, c - 1 > i ? c - 1 - i : 0);
        }
    }
    const std::size_t band = below + above + 1;
    if (double(n) * double(band) > double(1 << 26)) // 512 MB: not this way
        return kNotAvailableValue();
    // (I - K) u = 1 by elimination without pivoting, which is stable here: I - K is a
    // nonsingular M-matrix (K >= 0, its rows sum to at most 1 and some to less). Fill-in stays
    // inside the band.
    std::vector<double> m(n * band, 0.0), u(n, 1.0);
    auto at = [&](std::size_t i, std::size_t j) -> double & {
        return m[i * band + (j + below - i)];
    };
    for (std::size_t i = 0; i < n; ++i) {
        const auto [a, c] = row_range(means[i]);
        for (std::size_t j = a; j < c; ++j)
            at(i, j) = -kernel(means[i], j);
        at(i, i) += 1.0;
    }
    for (std::size_t k = 0; k < n; ++k) {
        const double pivot = at(k, k);
        for (std::size_t i = k + 1; i < std::min(n, k + below + 1); ++i) {
            const double l = at(i, k) / pivot;
            if (l == 0)
                continue;
            for (std::size_t j = k + 1; j < std::min(n, k + above + 1); ++j)
                at(i, j) -= l * at(k, j);
            u[i] -= l * u[k];
        }
    }
    for (std::size_t k = n; k-- > 0;) {
        double sum = u[k];
        for (std::size_t j = k + 1; j < std::min(n, k + above + 1); ++j)
            sum -= at(k, j) * u[j];
        u[k] = sum / at(k, k);
    }
    // The start need not be a node: u(x0) = 1 + sum_j K(x0, y_j) w_j u_j (Nystrom).
    const double mean0 = next_mean(start);
    const auto [a, c] = row_range(mean0);
    double steps = 1.0;
    for (std::size_t j = a; j < c; ++j)
        steps += kernel(mean0, j) * u[j];
    return dt * steps;
}

double kramers_time(const Model &model, double x0, double b, double kT, double gamma) {
    Energy1 e, force;
    if (!line_energy(model, e, &force) || !(kT > 0))
        return kNotAvailableValue();
    // The minimum nearest x0 (downhill on a fine grid), then the highest point towards b.
    const double step = 1e-4 * (b > x0 ? 1 : -1);
    double xm = x0;
    for (int i = 0; i < 200000; ++i) {
        const double left = e(xm - std::fabs(step)), right = e(xm + std::fabs(step)), here = e(xm);
        if (here <= left && here <= right)
            break;
        xm += left < right ? -std::fabs(step) : std::fabs(step);
    }
    double xb = xm, eb = e(xm);
    for (double x = xm; (b - x) * step > 0; x += step)
        if (e(x) > eb) {
            eb = e(x);
            xb = x;
        }
    if (xb == xm)
        return kNotAvailableValue();
    // E'' as the force's central difference (the energy's second one loses 8 digits), and each
    // grid point refined to where the force vanishes by Newton steps, kept within a grid step
    // (off by up to half a step, a tilted well's 1/k was 7e-5 off).
    const double h = 1e-5;
    auto second = [&](double x) { return -(force(x + h) - force(x - h)) / (2 * h); };
    auto refine = [&](double x) {
        const double lo = x - std::fabs(step), hi = x + std::fabs(step);
        for (int i = 0; i < 20; ++i) {
            const double k = second(x), next = x + force(x) / k;
            if (!(k != 0) || !(next > lo && next < hi) || next == x)
                break;
            x = next;
        }
        return x;
    };
    xm = refine(xm);
    xb = refine(xb);
    const double kb = second(xb), km = second(xm);
    if (!(km > 0) || !(kb < 0))
        return kNotAvailableValue();
    return 2 * M_PI * gamma / std::sqrt(km * -kb) * std::exp((e(xb) - e(xm)) / kT);
}

} // namespace langevin
