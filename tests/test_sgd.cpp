// SGD as a Langevin process: exact discrete-time moments of constant-rate SGD on linear
// regression, full-batch gradient descent, reproducibility, data loading and its errors.
#include <cstdio>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "io/hdf5.hpp"
#include "langevin/data.hpp"
#include "langevin/output.hpp"
#include "langevin/sgd.hpp"
#include "test_support.hpp"

using namespace langevin;
using test::BackendTest;
using test::kZ;
using test::study_from;

namespace {

// 1-D least squares on 200 synthetic pairs; float64 walkers from w = 0.
const char *kLinear = R"(
[ensemble]
walkers = 262144
seed = 3
precision = "float64"
init = "point"
init_point = 0.0
[potential]
kind = "linear_regression"
[data]
n = 200
seed = 5
[integrator]
kind = "sgd"
lr = 0.2
batch = 4
[run]
steps = 60
[histogram]
bins = 60
range = [0.0, 2.0]
)";

struct Cloud {
    std::vector<double> x;
};

Cloud simulate(Backend &b, const Study &s, std::uint64_t steps,
               const std::vector<std::uint64_t> &splits = {}) {
    b.initialize(s.model, s.init, 0, s.walkers);
    std::uint64_t step = 0;
    for (std::uint64_t n : splits.empty() ? std::vector<std::uint64_t>{steps} : splits) {
        b.advance(s.model, step, n, s.schedule.table(step, n));
        step += n;
    }
    WalkerState w;
    b.save(w);
    return Cloud{w.x};
}

struct Sample {
    double mean, var, m4; ///< m4: the sample's 4th central moment
    std::size_t n;
};
Sample sample_of(const std::vector<double> &x) {
    Sample s{0, 0, 0, x.size()};
    for (double v : x)
        s.mean += v;
    s.mean /= double(s.n);
    for (double v : x) {
        const double u = (v - s.mean) * (v - s.mean);
        s.var += u;
        s.m4 += u * u;
    }
    s.var /= double(s.n - 1);
    s.m4 /= double(s.n);
    return s;
}

/// z of the sample variance against `var`; the standard error sqrt((m4 - s^4) / N) is the
/// sample's own (the law is not Gaussian: random-coefficient AR(1) laws have heavier tails).
double z_variance(const Sample &s, double var) {
    return (s.var - var) / std::sqrt((s.m4 - s.var * s.var) / double(s.n));
}
double z_mean(const Sample &s, double mean) {
    return (s.mean - mean) / std::sqrt(s.var / double(s.n));
}

class SgdLaws : public BackendTest {};

} // namespace

TEST(SgdData, SyntheticDataArePureFunctionsOfTheSeed) {
    SyntheticSpec spec = synthetic_defaults("sine_fit");
    spec.n = 500;
    const auto a = synthetic_dataset(spec), b = synthetic_dataset(spec);
    EXPECT_EQ(a->x, b->x);
    EXPECT_EQ(a->y, b->y);
    EXPECT_NE(a->id, b->id);
    for (double x : a->x) {
        EXPECT_GT(x, 0.0);
        EXPECT_LE(x, spec.x_max);
    }
    spec.seed = 2;
    EXPECT_NE(synthetic_dataset(spec)->x, a->x);
    const auto logistic = synthetic_dataset(synthetic_defaults("logistic_regression"));
    for (double y : logistic->y)
        EXPECT_TRUE(y == 1.0 || y == -1.0);
}

TEST(SgdData, FilesLoadAndBadFilesAreRefusedClearly) {
    const std::string dir = ::testing::TempDir();
    const std::string good = dir + "sgd_good.csv", bad = dir + "sgd_bad.csv",
                      empty = dir + "sgd_empty.csv";
    std::ofstream(good) << "x,y\n# a comment\n1.0, 2.0\n-0.5,0.25\n3,4\n";
    std::ofstream(bad) << "x,y\n1,2\n3,abc\n";
    std::ofstream(empty) << "x,y\n# nothing\n";
    const auto d = load_dataset(good);
    EXPECT_EQ(d->x, (std::vector<double>{1.0, -0.5, 3.0}));
    EXPECT_EQ(d->y, (std::vector<double>{2.0, 0.25, 4.0}));
    auto message = [](const std::string &path) {
        try {
            load_dataset(path);
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message(bad).find("sgd_bad.csv:3: '3,abc': want two decimal numbers"),
              std::string::npos)
        << message(bad);
    EXPECT_NE(message(empty).find("no data rows"), std::string::npos) << message(empty);
    // Exactly two decimal fields: a third (even empty), hex, inf or nan, and numbers beyond a
    // double are refused by line.
    for (const auto &[row, why] :
         {std::pair{"1,2,", "want two decimal numbers"}, std::pair{"0x10,2", "want two decimal"},
          std::pair{"inf,1", "want two decimal"}, std::pair{"1,nan", "want two decimal"},
          std::pair{"1e400,1", "a number beyond double's range"}}) {
        const std::string odd = dir + "sgd_odd.csv";
        std::ofstream(odd) << "x,y\n1,2\n" << row << "\n";
        EXPECT_NE(message(odd).find(std::string(":3: '") + row + "': " + why), std::string::npos)
            << message(odd);
    }
    // A control byte in a row is shown as '?' (a NUL cut the message short).
    const std::string nul = dir + "sgd_nul.csv";
    std::ofstream(nul) << "x,y\n1,2\n3," << '\0' << "4\n";
    EXPECT_NE(message(nul).find(":3: '3,?4': want two decimal numbers"), std::string::npos)
        << message(nul);
    EXPECT_NE(message(dir + "missing.csv").find("no such file"), std::string::npos);
    // A study reads the file through [data] file; the batch is checked against its n.
    const std::string toml = "[potential]\nkind = \"linear_regression\"\n[data]\nfile = \"" + good +
                             "\"\n[integrator]\nkind = \"sgd\"\nbatch = 2\n";
    const Study s = study_from(toml);
    EXPECT_EQ(s.model.data->x.size(), 3u);
    EXPECT_EQ(std::get<LinearRegression>(s.model.potential).data.x, s.model.data->x.data());
    try {
        study_from(toml, {"integrator.batch=4"});
        ADD_FAILURE() << "batch 4 > n 3 accepted";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("data set's n = 3"), std::string::npos) << e.what();
    }
    try {
        study_from(toml, {"data.n=10"});
        ADD_FAILURE() << "data.n with a file accepted";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("only applies to synthetic data"), std::string::npos)
            << e.what();
    }
    // A bad file's error starts where the file was named: the study's line, or the --set.
    const std::string sets_bad = "data.file=\"" + bad + "\"";
    try {
        study_from(toml, {sets_bad});
        ADD_FAILURE() << "a bad file accepted";
    } catch (const Error &e) {
        EXPECT_EQ(std::string(e.what()).rfind("--set data.file: " + bad + ":3: ", 0), 0u)
            << e.what();
    }
}

TEST(SgdData, AResumeOrMergeRefusesADataFileChangedSinceTheRun) {
    // Stored studies name the file; its pairs' fingerprint is stored beside them.
    const std::string dir = ::testing::TempDir();
    const std::string data = dir + "sgd_changing.csv", cp = dir + "sgd_changing.h5.partial",
                      shard_path = dir + "sgd_changing_shard.h5";
    std::ofstream(data) << "x,y\n0,1\n1,2\n2,3\n3,4\n";
    Study s = study_from("[ensemble]\nwalkers = 4096\n[potential]\nkind = \"linear_regression\"\n"
                         "[data]\nfile = \"" +
                         data + "\"\n[integrator]\nkind = \"sgd\"\nbatch = 2\n[run]\nsteps = 10\n");
    RunState state;
    RunHooks hooks;
    hooks.checkpoint = [&](const RunState &st) { state = st; };
    hooks.checkpoint_when_done = true;
    run_study(s, hooks);
    write_checkpoint(cp, s, state);
    Study shard = s;
    shard.shard = Shard{1, 2};
    write_results(shard_path, shard, run_study(shard));
    EXPECT_NO_THROW(read_checkpoint(cp));
    EXPECT_NO_THROW(read_shard(shard_path));
    std::ofstream(data) << "x,y\n0,1\n1,2\n2,3.5\n3,4\n"; // one y edited
    for (const auto &read : {std::function<void()>([&] { read_checkpoint(cp); }),
                             std::function<void()>([&] { read_shard(shard_path); })}) {
        try {
            read();
            ADD_FAILURE() << "a changed data file was accepted";
        } catch (const Error &e) {
            EXPECT_NE(std::string(e.what()).find("is not the data this run used (the file "
                                                 "changed since)"),
                      std::string::npos)
                << e.what();
        }
    }
    for (const std::string &p : {data, cp, shard_path})
        std::remove(p.c_str());
}

TEST(SgdData, Hdf5FilesLoadWithTheirDatasetNames) {
    const std::string path = ::testing::TempDir() + "sgd_pairs.h5";
    {
        h5::File f = h5::File::create(path);
        f.root().write("inputs", std::vector<double>{0.5, 1.5, 2.5});
        f.root().write("targets", std::vector<double>{1.0, -1.0, 1.0});
        f.root().write("short", std::vector<double>{1.0});
        f.root().write("table", std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 2}); // 2-D
        f.root().group("folder");
        f.root().write("counts", std::vector<std::uint64_t>{1, 2, 3}); // integers are numbers
    }
    const auto d = load_dataset(path, "inputs", "targets");
    EXPECT_EQ(d->x, (std::vector<double>{0.5, 1.5, 2.5}));
    EXPECT_EQ(d->y, (std::vector<double>{1.0, -1.0, 1.0}));
    auto message = [&](const std::string &x, const std::string &y) {
        try {
            load_dataset(path, x, y);
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message("x", "targets").find("no dataset '/x'"), std::string::npos)
        << message("x", "targets");
    EXPECT_NE(message("inputs", "short").find("has 3 values but '/short' has 1"), std::string::npos)
        << message("inputs", "short");
    EXPECT_NE(message("table", "targets")
                  .find("'/table' is of rank 2: want a 1-D dataset of numbers, one per pair"),
              std::string::npos)
        << message("table", "targets");
    EXPECT_NE(message("inputs", "folder").find("'/folder' is not a dataset"), std::string::npos)
        << message("inputs", "folder");
    EXPECT_EQ(load_dataset(path, "counts", "targets")->x, (std::vector<double>{1, 2, 3}));
    // Through a study: [data] file with x_dataset / y_dataset.
    const Study s =
        study_from("[potential]\nkind = \"logistic_regression\"\n[data]\nfile = \"" + path +
                   "\"\nx_dataset = \"inputs\"\ny_dataset = \"targets\"\n"
                   "[integrator]\nkind = \"sgd\"\nbatch = 3\n");
    EXPECT_EQ(s.model.data->x.size(), 3u);
    EXPECT_TRUE(s.sgd.full_batch);
    std::remove(path.c_str());
}

TEST(SgdConfig, LabelsAndMinimaAreChecked) {
    const std::string dir = ::testing::TempDir();
    const std::string zero_one = dir + "sgd_01.csv", separable = dir + "sgd_sep.csv";
    std::ofstream(zero_one) << "x,y\n-1,0\n0.5,1\n2,1\n-0.3,0\n1,0\n";
    std::ofstream(separable) << "-2,-1\n-1,-1\n1,1\n2,1\n";
    auto error = [](const std::string &toml) {
        try {
            study_from(toml);
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    auto logistic = [](const std::string &file) {
        return "[potential]\nkind = \"logistic_regression\"\n[data]\nfile = \"" + file +
               "\"\n[integrator]\nkind = \"sgd\"\n";
    };
    EXPECT_NE(error(logistic(zero_one)).find("needs labels y = -1 or +1; pair 0 has y = 0"),
              std::string::npos)
        << error(logistic(zero_one));
    EXPECT_NE(error(logistic(separable)).find("separable data has no minimum"), std::string::npos)
        << error(logistic(separable));
    // A minimum outside the histogram range is still found (T_eff is taken there).
    const Study far = study_from(kLinear, {"data.w_true=5"});
    const DataView d = far.model.data->view();
    double sxx = 0, sxy = 0;
    for (std::uint64_t i = 0; i < d.n; ++i) {
        sxx += d.x[i] * d.x[i];
        sxy += d.x[i] * d.y[i];
    }
    EXPECT_GT(sxy / sxx, 4.5); // outside [0, 2]
    EXPECT_NEAR(far.sgd.w_star[0], sxy / sxx, 1e-9);
    // w_true moves y by w_true x only: the residuals at w*, and so T_eff, are the same (taken at
    // any other w, the residuals gain (w* - w) x).
    const double t_eff = study_from(kLinear).sgd.t_eff_per_lr;
    EXPECT_NEAR(far.sgd.t_eff_per_lr, t_eff, 1e-9 * t_eff);
}

TEST(SgdConfig, BadSettingsAreRefusedWithTheKeyAndTheRule) {
    auto error = [](std::vector<std::string> sets) {
        try {
            study_from(kLinear, sets);
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(error({"integrator.batch=201"})
                  .find("[integrator] batch = 201: must be at most the "
                        "data set's n = 200"),
              std::string::npos)
        << error({"integrator.batch=201"});
    EXPECT_NE(error({"integrator.lr=0"}).find("[integrator] lr = 0: must be a finite number > 0"),
              std::string::npos)
        << error({"integrator.lr=0"});
    EXPECT_NE(error({"integrator.lr=-0.1"}).find("must be a finite number > 0"), std::string::npos);
    EXPECT_NE(error({"integrator.batch=2.5"}).find("must be an integer"), std::string::npos);
    EXPECT_NE(error({"integrator.batch=0"})
                  .find("[integrator] batch = 0: must be an integer >= 1 (below 2^63)"),
              std::string::npos)
        << error({"integrator.batch=0"});
    // Integer keys are integers in the resolved study (JSON, the stored TOML): batch = 4, not 4.0.
    const std::string resolved =
        study_from(kLinear, {"integrator.lr_schedule=geometric"}).resolved_json;
    const auto integrator = nlohmann::json::parse(resolved)["integrator"];
    EXPECT_TRUE(integrator["batch"].is_number_integer()) << integrator;
    EXPECT_EQ(integrator["batch"], 4);
    EXPECT_TRUE(integrator["lr_steps"].is_number_integer()) << integrator;
    // sgd needs a data-defined loss (switching the potential away drops the file's [data]).
    EXPECT_NE(error({"potential.kind=double_well"}).find("needs a data-defined loss"),
              std::string::npos)
        << error({"potential.kind=double_well"});
    EXPECT_NE(error({"integrator.lr_schedule=logarithmic", "integrator.lr_n0=1"})
                  .find("lr_n0 = 1: must be > 1 (lr_n = lr ln(n0) / ln(n + n0) needs ln(n0) > 0)"),
              std::string::npos);
    // A minimum far outside the range is named as such; the separable-data hint is logistic's.
    const std::string far = error({"data.w_true=50"});
    EXPECT_NE(far.find("gradient vanishes at w = (50.02"), std::string::npos) << far;
    EXPECT_EQ(far.find("logistic"), std::string::npos) << far;
    try {
        study_from("[potential]\nkind = \"double_well\"\n[integrator]\nkind = \"sgd\"\n");
        ADD_FAILURE() << "sgd on double_well accepted";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("needs a data-defined loss"), std::string::npos)
            << e.what();
    }
    try {
        study_from("[potential]\nkind = \"sine_fit\"\n[data]\nfile = \"/nonexistent/d.csv\"\n");
        ADD_FAILURE() << "a missing data file accepted";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/d.csv\": no such file"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_NE(
        error({"integrator.lr_final=0.1"}).find("only applies to lr_schedule = \"geometric\""),
        std::string::npos);
    EXPECT_NE(error({"data.n=0"}).find("[data] n = 0"), std::string::npos) << error({"data.n=0"});
}

TEST(SgdTheory, LinearRegressionMomentsAndEffectiveTemperature) {
    const Study s = study_from(kLinear);
    const DataView d = s.model.data->view();
    double sxx = 0, sxy = 0;
    for (std::uint64_t i = 0; i < d.n; ++i) {
        sxx += d.x[i] * d.x[i];
        sxy += d.x[i] * d.y[i];
    }
    ASSERT_TRUE(s.sgd.active);
    EXPECT_NEAR(s.sgd.w_star[0], sxy / sxx, 1e-9); // least squares
    EXPECT_NEAR(s.sgd.exact_mean, sxy / sxx, 1e-12);
    // Per-sample gradient variance at w*: mean of (x (x w* - y))^2.
    double c = 0;
    for (std::uint64_t i = 0; i < d.n; ++i) {
        const double g = d.x[i] * (d.x[i] * s.sgd.w_star[0] - d.y[i]);
        c += g * g;
    }
    c /= double(d.n);
    EXPECT_NEAR(s.sgd.gradient_variance, c, 1e-9 * c);
    EXPECT_NEAR(s.sgd.t_eff_per_lr, c / (2 * 4), 1e-9 * c);
    // The finite-step recursion converges to the closed-form stationary moments.
    const Moments1 far = linear_sgd_moments(d, 4, 0.2, 0.0, 0.0, 100000);
    EXPECT_NEAR(far.mean, s.sgd.exact_mean, 1e-12);
    EXPECT_NEAR(far.var, s.sgd.exact_var, 1e-12);
    // Full batch without noise: a point mass at w*; its stationary variance exactly 0 (as
    // s - m^2 it was -8.9e-16 for the 4 pairs of a file), with noise 2 lr T / (1 - E[A^2]).
    const Moments1 gd = linear_sgd_moments(d, 200, 0.2, 0.0, 0.0, 100000);
    EXPECT_NEAR(gd.var, 0.0, 1e-15);
    EXPECT_EQ(linear_sgd_moments(d, 200, 0.2, 0.0, 0.0, ~std::uint64_t(0)).var, 0.0);
    const double x4[] = {1, 2, 3, 4}, y4[] = {2.1, 3.9, 6.2, 8.0};
    const DataView four{x4, y4, 4};
    EXPECT_EQ(linear_sgd_moments(four, 4, 0.05, 0.0, 0.0, ~std::uint64_t(0)).var, 0.0);
    const double h4 = (1 + 4 + 9 + 16) / 4.0, a4 = 1 - 0.05 * h4;
    EXPECT_NEAR(linear_sgd_moments(four, 4, 0.05, 0.1, 0.0, ~std::uint64_t(0)).var,
                2 * 0.05 * 0.1 / (1 - a4 * a4), 1e-15);
}

TEST_P(SgdLaws, ConstantRateSgdOnLinearRegressionFollowsTheExactRecursion) {
    auto b = backend();
    for (const char *precision : {"float64", "float32"}) {
        const Study s = study_from(kLinear, {std::string("ensemble.precision=") + precision});
        const DataView d = s.model.data->view();
        for (std::uint64_t steps : {3u, 60u}) {
            const Sample got = sample_of(simulate(*b, s, steps).x);
            const Moments1 exact = linear_sgd_moments(d, 4, 0.2, 0.0, 0.0, steps);
            SCOPED_TRACE(std::string(precision) + " " + std::to_string(steps));
            EXPECT_LT(std::fabs(z_mean(got, exact.mean)), kZ) << got.mean << " vs " << exact.mean;
            EXPECT_LT(std::fabs(z_variance(got, exact.var)), kZ) << got.var << " vs " << exact.var;
            if (steps == 60) {
                // 60 steps: E[A^2]^60 < 1e-10, so this is the stationary law the report prints.
                EXPECT_LT(std::fabs(z_variance(got, s.sgd.exact_var)), kZ);
                EXPECT_LT(std::fabs(z_mean(got, s.sgd.exact_mean)), kZ);
                // Power: the small-lr (Boltzmann at T_eff) variance T_eff / H and the law of a
                // batch of 5 instead of 4 are both rejected.
                double h = 0;
                for (std::uint64_t i = 0; i < d.n; ++i)
                    h += d.x[i] * d.x[i];
                h /= double(d.n);
                const double boltzmann = 0.2 * s.sgd.t_eff_per_lr / h;
                EXPECT_GT(std::fabs(z_variance(got, boltzmann)), kZ) << boltzmann;
                const Moments1 twice_batch = linear_sgd_moments(d, 5, 0.2, 0.0, 0.0, steps);
                EXPECT_GT(std::fabs(z_variance(got, twice_batch.var)), kZ) << twice_batch.var;
            }
        }
    }
}

TEST_P(SgdLaws, SgldNoiseAddsItsTemperature) {
    // With explicit noise at T the recursion gains 2 lr T per step (exact).
    const Study s = study_from(kLinear, {"temperature.T=0.05"});
    auto b = backend();
    const Sample got = sample_of(simulate(*b, s, 60).x);
    const Moments1 exact = linear_sgd_moments(s.model.data->view(), 4, 0.2, 0.05, 0.0, 60);
    EXPECT_LT(std::fabs(z_mean(got, exact.mean)), kZ);
    EXPECT_LT(std::fabs(z_variance(got, exact.var)), kZ) << got.var << " vs " << exact.var;
    const Moments1 without = linear_sgd_moments(s.model.data->view(), 4, 0.2, 0.0, 0.0, 60);
    EXPECT_GT(std::fabs(z_variance(got, without.var)), kZ);
}

TEST_P(SgdLaws, FullBatchIsGradientDescent) {
    // B = n: every walker follows w_{k+1} = w_k - lr L'(w_k) from its own start.
    const Study s = study_from(
        kLinear, {"integrator.batch=200", "ensemble.walkers=4096", "ensemble.init_point=-0.7"});
    auto b = backend();
    b->initialize(s.model, s.init, 0, s.walkers);
    WalkerState start;
    b->save(start);
    b->advance(s.model, 0, 25, s.schedule.table(0, 25));
    WalkerState end;
    b->save(end);
    const auto &pot = std::get<LinearRegression>(s.model.potential);
    for (std::size_t i = 0; i < start.x.size(); i += 97) {
        EXPECT_EQ(start.x[i], -0.7);
        Vec<double, 1> w{{start.x[i]}};
        for (int k = 0; k < 25; ++k)
            w[0] += 0.2 * pot.force(w)[0];
        EXPECT_NEAR(end.x[i], w[0], 1e-12 * (1 + std::fabs(w[0]))) << i;
    }
}

TEST_P(SgdLaws, FullBatchFollowsEachLearningRateSchedule) {
    // Gradient descent with lr_n from each schedule, the formulas written out here: geometric
    // lr (lr_final / lr)^min(n / lr_steps, 1), logarithmic lr ln(n0) / ln(n + n0) with n0 = 5
    // (n0 = 2 would not tell ln(n + n0) from ln(n + 2)). Steps split 3 + 22: n is the global step.
    const double lr = 0.2, lr_final = 0.01, n0 = 5;
    const std::uint64_t lr_steps = 10;
    const std::vector<std::pair<std::vector<std::string>, std::function<double(int)>>> schedules = {
        {{"integrator.lr_schedule=geometric", "integrator.lr_final=0.01", "integrator.lr_steps=10"},
         [&](int n) { return lr * std::pow(lr_final / lr, std::min(double(n) / lr_steps, 1.0)); }},
        {{"integrator.lr_schedule=logarithmic", "integrator.lr_n0=5"},
         [&](int n) { return lr * std::log(n0) / std::log(n + n0); }},
    };
    for (const auto &[settings, rate] : schedules) {
        std::vector<std::string> over = {"integrator.batch=200", "ensemble.walkers=1024",
                                         "ensemble.init_point=-0.7"};
        over.insert(over.end(), settings.begin(), settings.end());
        const Study s = study_from(kLinear, over);
        const auto &sgd = std::get<Sgd>(s.model.integrator);
        SCOPED_TRACE(settings[0]);
        EXPECT_EQ(sgd.lr(0), lr);
        for (int n : {1, 5, 9, 10, 24})
            EXPECT_NEAR(sgd.lr(n), rate(n), 1e-15) << n;
        auto b = backend();
        const Cloud end = simulate(*b, s, 25, {3, 22});
        const auto &pot = std::get<LinearRegression>(s.model.potential);
        Vec<double, 1> w{{-0.7}}, constant{{-0.7}};
        for (int n = 0; n < 25; ++n) {
            w[0] += rate(n) * pot.force(w)[0];
            constant[0] += lr * pot.force(constant)[0];
        }
        for (std::size_t i = 0; i < end.x.size(); i += 97)
            EXPECT_NEAR(end.x[i], w[0], 1e-12 * (1 + std::fabs(w[0]))) << i;
        EXPECT_GT(std::fabs(end.x[0] - constant[0]), 1e-3); // power: the schedule matters here
    }
}

TEST_P(SgdLaws, RunsAreBitwiseReproducibleForAnySplitAndChunk) {
    const Study s = study_from(R"(
[ensemble]
walkers = 12000
seed = 8
init = "uniform"
[potential]
kind = "sine_fit"
[data]
n = 300
[integrator]
kind = "sgd"
lr = 0.3
batch = 6
lr_schedule = "logarithmic"
[temperature]
T = 0.01
[run]
steps = 90
samples = 3
)");
    auto b = backend();
    const Cloud whole = simulate(*b, s, 90);
    EXPECT_EQ(simulate(*b, s, 90, {1, 40, 49}).x, whole.x);
    // Walkers 4096.. alone equal the same walkers inside the full run.
    b->initialize(s.model, s.init, 4096, 100);
    b->advance(s.model, 0, 90, s.schedule.table(0, 90));
    WalkerState part;
    b->save(part);
    for (std::size_t i = 0; i < 100; ++i)
        EXPECT_EQ(part.x[i], whole.x[4096 + i]) << i;
    // Studies: chunk size and thread count change nothing.
    Study chunked = s;
    chunked.chunk = 4096;
    BackendOptions one;
    one.threads = 1;
    one.block_size = 64;
    auto b1 = backend(one);
    const RunResult r1 = run_study(s, *b), r2 = run_study(chunked, *b1);
    ASSERT_EQ(r1.samples.size(), r2.samples.size());
    for (std::size_t k = 0; k < r1.samples.size(); ++k) {
        EXPECT_EQ(r1.samples[k].mean, r2.samples[k].mean);
        EXPECT_EQ(r1.samples[k].var, r2.samples[k].var);
        EXPECT_EQ(r1.samples[k].histograms[0].counts, r2.samples[k].histograms[0].counts);
        EXPECT_EQ(r1.samples[k].basins[0].empirical, r2.samples[k].basins[0].empirical);
    }
    // A different seed gives different mini-batches.
    Study other = s;
    other.model.seed = 9;
    EXPECT_NE(simulate(*b, other, 90).x, whole.x);
}

TEST_P(SgdLaws, NoisySgdLeavesLocalMinimaWhereGradientDescentStays) {
    // The seed's argument on the non-convex sine fit, from the same uniform starts.
    const std::string base = R"(
[ensemble]
walkers = 8192
seed = 21
init = "uniform"
[potential]
kind = "sine_fit"
[data]
n = 200
[integrator]
kind = "sgd"
lr = 0.3
[run]
steps = 600
samples = 2
)";
    auto b = backend();
    const RunResult gd = run_study(study_from(base, {"integrator.batch=200"}), *b);
    const RunResult sgd = run_study(study_from(base, {"integrator.batch=1"}), *b);
    const double p_gd = gd.samples.back().global_basin_fraction;
    const double p_sgd = sgd.samples.back().global_basin_fraction;
    // GD keeps the share of starts that lie in the global basin (between the two maxima).
    const SineFit &pot = std::get<SineFit>(study_from(base).model.potential);
    const int g = pot.global_basin();
    ASSERT_EQ(pot.basin_count(), 3);
    ASSERT_EQ(g, 1); // the aliases lie on either side of the true frequency
    const double share = (pot.basins.edge[g] - pot.basins.edge[g - 1]) / (pot.w_max - pot.w_min);
    const double se = std::sqrt(share * (1 - share) / 8192);
    EXPECT_LT(std::fabs(p_gd - share), kZ * se) << p_gd << " vs " << share;
    EXPECT_GT(p_sgd - p_gd, kZ * se) << p_sgd << " vs " << p_gd;
    // The basins are those of [w_min, w_max]: beyond it the loss has other minima, never
    // scanned, and a run that escaped there is in none of them, only in the histogram's
    // "outside" (its range is the same).
    EXPECT_EQ(pot.basin(Vec<double, 1>{{pot.w_max + 0.01}}), -1);
    EXPECT_EQ(pot.basin(Vec<double, 1>{{pot.w_min - 0.01}}), -1);
    EXPECT_EQ(pot.basin(Vec<double, 1>{{std::nan("")}}), -1);
    EXPECT_EQ(pot.basin(Vec<double, 1>{{pot.w_max}}), 2);
    EXPECT_EQ(pot.basin(Vec<double, 1>{{pot.w_min}}), 0);
    const SampleResult &last = sgd.samples.back();
    ASSERT_EQ(last.finite, 8192u);
    EXPECT_GT(last.outside, 0u); // SGD at lr = 0.3 carries some runs out of the range
    double in_basins = 0;
    for (const BasinResult &basin : last.basins)
        in_basins += basin.empirical * 8192;
    EXPECT_NEAR(in_basins + double(last.outside), 8192.0, 1e-6);
}

LGV_INSTANTIATE_BACKENDS(SgdLaws);
