// Shared helpers: backend parametrisation, small studies from TOML text, sample statistics.
#pragma once

#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "langevin/backend.hpp"
#include "langevin/config.hpp"
#include "langevin/study.hpp"

namespace langevin::test {

/// Sets an environment variable for a scope, or unsets it (value null: the default), and puts
/// back what was there before (a failed ASSERT leaves no setting to later tests).
struct ScopedEnv {
    const char *name;
    std::optional<std::string> before;
    ScopedEnv(const char *variable, const char *value) : name(variable) {
        if (const char *old = std::getenv(variable))
            before = old;
        if (value)
            setenv(variable, value, 1);
        else
            unsetenv(variable);
    }
    ~ScopedEnv() {
        if (before)
            setenv(name, before->c_str(), 1);
        else
            unsetenv(name);
    }
    ScopedEnv(const ScopedEnv &) = delete;
    ScopedEnv &operator=(const ScopedEnv &) = delete;
};

/// LANGEVIN_REQUIRE_CUDA=1: a missing CUDA backend or device fails instead of skipping.
inline bool cuda_required() {
    const char *v = std::getenv("LANGEVIN_REQUIRE_CUDA");
    return v && v[0] == '1';
}

/// Every test body runs once per backend; a backend that cannot run here skips (or fails).
class BackendTest : public ::testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        std::string why;
        if (!backend_available(GetParam(), &why)) {
            if (cuda_required())
                FAIL() << "LANGEVIN_REQUIRE_CUDA=1 but backend " << GetParam()
                       << " is unavailable: " << why;
            GTEST_SKIP() << "backend " << GetParam() << " unavailable: " << why;
        }
    }
    std::unique_ptr<Backend> backend(const BackendOptions &options = {}) const {
        return make_backend(GetParam(), options);
    }
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string> &info) {
    return info.param;
}

#define LGV_INSTANTIATE_BACKENDS(Suite)                                                            \
    INSTANTIATE_TEST_SUITE_P(Backends, Suite, ::testing::Values("cpu", "cuda"),                    \
                             ::langevin::test::backend_name)

/// Two observations are bitwise equal (counts, exact moment sums, best walker).
inline void expect_same_observation(const Observation &a, const Observation &b,
                                    const std::string &what) {
    EXPECT_EQ(a.marginal, b.marginal) << what;
    EXPECT_EQ(a.joint, b.joint) << what;
    EXPECT_EQ(a.basins, b.basins) << what;
    EXPECT_EQ(a.passage, b.passage) << what;
    EXPECT_EQ(a.outside_box, b.outside_box) << what;
    ASSERT_EQ(a.moment_sums.size(), b.moment_sums.size()) << what;
    for (std::size_t j = 0; j < a.moment_sums.size(); ++j)
        EXPECT_TRUE(a.moment_sums[j] == b.moment_sums[j]) << what << " moment " << j;
    EXPECT_EQ(a.best.energy, b.best.energy) << what;
    EXPECT_EQ(a.best.walker, b.best.walker) << what;
    EXPECT_EQ(a.best_position, b.best_position) << what;
}

/// A study from TOML text plus overrides.
inline Study study_from(const std::string &toml, const std::vector<std::string> &sets = {}) {
    return parse_study(toml, "<test>", sets);
}

/// Mean and unbiased variance of coordinate d of a saved state (x[d * n + i]).
struct Moments {
    double mean = 0, var = 0;
    std::size_t n = 0;
};
inline Moments moments(const std::vector<double> &x, int dim, int d) {
    Moments m;
    m.n = x.size() / dim;
    double s = 0, s2 = 0;
    for (std::size_t i = 0; i < m.n; ++i)
        s += x[d * m.n + i];
    m.mean = s / m.n;
    for (std::size_t i = 0; i < m.n; ++i) {
        const double u = x[d * m.n + i] - m.mean;
        s2 += u * u;
    }
    m.var = s2 / (m.n - 1);
    return m;
}

/// z-score of a sample mean against the exact mean and variance of a Gaussian law.
inline double z_mean(const Moments &m, double mean, double var) {
    return (m.mean - mean) / std::sqrt(var / m.n);
}
/// z-score of a sample variance against the exact variance (Gaussian: Var(s^2) = 2 var^2/(n-1)).
inline double z_var(const Moments &m, double var) {
    return (m.var - var) / (var * std::sqrt(2.0 / (m.n - 1)));
}

/// Five standard errors: with fixed seeds a correct sampler essentially never exceeds it.
constexpr double kZ = 5.0;

} // namespace langevin::test
