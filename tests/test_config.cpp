// Study files: defaults, overrides, and errors that name the key, the value, what is allowed and
// the line.
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_support.hpp"

using namespace langevin;
using test::study_from;

namespace {

std::string error_of(const std::string &toml, const std::vector<std::string> &sets = {}) {
    try {
        study_from(toml, sets);
    } catch (const Error &e) {
        return e.what();
    }
    return "<no error>";
}

#define EXPECT_CONTAINS(text, part)                                                                \
    EXPECT_NE(std::string(text).find(part), std::string::npos) << "message: " << (text)

} // namespace

TEST(Config, DefaultsAreFilledAndResolved) {
    const Study s = study_from("");
    EXPECT_EQ(s.walkers, 100000u);
    EXPECT_EQ(s.model.dim(), 1);
    EXPECT_TRUE(std::holds_alternative<DoubleWell>(s.model.potential));
    EXPECT_TRUE(std::holds_alternative<EulerMaruyama>(s.model.integrator));
    EXPECT_EQ(s.grid.axes[0].bins, 100);
    const auto j = nlohmann::json::parse(s.resolved_json);
    EXPECT_EQ(j["integrator"]["dt"], 1e-3);
    EXPECT_EQ(j["potential"]["kind"], "double_well");
    EXPECT_EQ(j["ensemble"]["precision"], "float32");
    EXPECT_EQ(j["run"]["steps"], 1000);
}

TEST(Config, OverridesApplyAndParseTomlValues) {
    const Study s = study_from(
        "[potential]\nkind = \"harmonic\"\n",
        {"potential.dim=3", "potential.centre=[1, 2, 3]", "integrator.kind=baoab",
         "integrator.mass=2", "ensemble.walkers=1e6", "histogram.range=[[-1, 1], [0, 4], [0, 6]]"});
    EXPECT_EQ(s.model.dim(), 3);
    EXPECT_EQ(std::get<Harmonic>(s.model.potential).centre[2], 3.0);
    EXPECT_EQ(std::get<BAOAB>(s.model.integrator).mass, 2.0);
    EXPECT_EQ(s.walkers, 1000000u);
    EXPECT_EQ(s.grid.axes[1].hi, 4.0);
    EXPECT_NEAR(s.init.velocity_sigma, std::sqrt(1.0 / 2.0), 1e-15); // sqrt(T / m)
}

TEST(Config, SwitchingAModeWithSetDropsTheKeysOnlyTheOldModeRead) {
    // A file written for one mode of each switchable key.
    const std::string file = "[ensemble]\ninit = \"point\"\ninit_point = -1\n"
                             "[potential]\nkind = \"double_well\"\ntilt = 0.25\n"
                             "[integrator]\nkind = \"euler_maruyama\"\ndt = 0.01\n"
                             "[temperature]\nkind = \"linear\"\nT0 = 2\nT1 = 0.5\n";
    const Study s = study_from(file, {"ensemble.init=uniform", "potential.kind=harmonic",
                                      "integrator.kind=baoab", "temperature.kind=geometric",
                                      "temperature.T1=0.1"});
    EXPECT_EQ(s.init.kind, InitSpec::Kind::uniform);
    EXPECT_TRUE(std::holds_alternative<Harmonic>(s.model.potential));
    EXPECT_EQ(std::get<BAOAB>(s.model.integrator).dt, 0.01); // both read dt: it stays
    EXPECT_EQ(s.schedule.T0, 2.0);                           // geometric reads T0 too
    EXPECT_EQ(s.schedule.T1, 0.1);
    // Without the switch the same keys are still errors, and a key given with --set stays.
    EXPECT_CONTAINS(error_of(file, {"ensemble.init_low=0"}), "init_low");
    EXPECT_CONTAINS(error_of(file, {"ensemble.init=uniform", "ensemble.init_point=1"}),
                    "--set ensemble.init_point: [ensemble] init_point = 1: only used with");
    // data.file switches synthetic data off: their keys go (and come back with data.file="").
    const std::string path = ::testing::TempDir() + "switch.csv";
    std::ofstream(path) << "x,y\n1,2\n2,4\n3,6\n";
    const std::string sgd = "[potential]\nkind = \"linear_regression\"\n[data]\nn = 200\n"
                            "seed = 5\n[integrator]\nkind = \"sgd\"\nbatch = 2\n";
    EXPECT_EQ(study_from(sgd, {"data.file=\"" + path + "\""}).model.data->x.size(), 3u);
    EXPECT_EQ(study_from(sgd).model.data->x.size(), 200u);
    EXPECT_EQ(study_from(sgd, {"data.file=\"\""}).model.data->x.size(), 200u);
    std::remove(path.c_str());
    // A new potential keeps the [data] keys its synthetic data read and drops the others; one
    // without data drops [data]. A key given with --set is still checked.
    const std::string sine = "[potential]\nkind = \"sine_fit\"\n[data]\nn = 50\nnoise = 0.1\n"
                             "x_max = 2.0\n[integrator]\nkind = \"sgd\"\n";
    const Study linear = study_from(sine, {"potential.kind=linear_regression"});
    EXPECT_EQ(linear.model.data->x.size(), 50u);
    EXPECT_CONTAINS(linear.model.data->source, "noise=0.1");
    EXPECT_EQ(study_from(sine, {"potential.kind=logistic_regression"}).model.data->x.size(), 50u);
    EXPECT_TRUE(std::holds_alternative<DoubleWell>(
        study_from(sine, {"potential.kind=double_well", "integrator.kind=euler_maruyama"})
            .model.potential));
    EXPECT_CONTAINS(error_of(sine, {"potential.kind=linear_regression", "data.x_max=1"}),
                    "--set data.x_max: unknown key [data] x_max");
    EXPECT_CONTAINS(error_of(sine), "<no error>");
    EXPECT_CONTAINS(error_of(sine, {"potential.kind=double_well", "data.n=5",
                                    "integrator.kind=euler_maruyama"}),
                    "[data] applies only to data-defined potentials");
    // [run] samples and sample_every: the one given with --set replaces the file's other.
    const std::string every = "[run]\nsteps = 100\nsample_every = 10\n";
    EXPECT_EQ(study_from(every, {"run.samples=4"}).samples,
              (std::vector<std::uint64_t>{25, 50, 75, 100}));
    EXPECT_EQ(study_from("[run]\nsteps = 100\nsamples = 4\n", {"run.sample_every=50"}).samples,
              (std::vector<std::uint64_t>{50, 100}));
    EXPECT_CONTAINS(error_of(every, {"run.samples=4", "run.sample_every=5"}), "not both");
    // ... and sample_every drops the spacing only samples read, unless --set gives it too.
    const std::string log_spaced = "[run]\nsteps = 100\nsamples = 4\nspacing = \"log\"\n";
    EXPECT_EQ(study_from(log_spaced, {"run.sample_every=50"}).samples,
              (std::vector<std::uint64_t>{50, 100}));
    EXPECT_CONTAINS(error_of(log_spaced, {"run.sample_every=50", "run.spacing=\"log\""}),
                    "needs samples = K");
    // [first_passage] region: a half-space's coordinate and level, or a ball's centre and radius.
    const std::string above = "[first_passage]\ncoordinate = 0\nlevel = 0.7\n";
    const Study ball = study_from(above, {"first_passage.region=ball"});
    EXPECT_EQ(ball.model.target.kind, Target::Kind::ball);
    EXPECT_EQ(ball.model.target.radius, 0.5); // the ball's default radius
    const std::string in_ball = "[first_passage]\nregion = \"ball\"\nradius = 0.25\n";
    EXPECT_EQ(study_from(in_ball, {"first_passage.region=below"}).model.target.value, 0.0);
    EXPECT_CONTAINS(error_of(above, {"first_passage.radius=0.2"}), "radius");
}

TEST(Config, ErrorsNameKeyValueRuleAndLine) {
    const std::string bad_dt = "[integrator]\nkind = \"euler_maruyama\"\ndt = -0.1\n";
    const std::string e1 = error_of(bad_dt);
    EXPECT_CONTAINS(e1, "<test>:3: [integrator] dt = -0.1: must be a finite number > 0");
    EXPECT_CONTAINS(e1, "> 0");

    const std::string e2 = error_of("[ensemble]\nwalkers = 10\nwalkrs = 5\n");
    EXPECT_CONTAINS(e2, "<test>:3");
    EXPECT_CONTAINS(e2, "unknown key [ensemble] walkrs");
    EXPECT_CONTAINS(e2, "walkers");

    const std::string e3 = error_of("[potential]\nkind = \"quartic\"\n");
    EXPECT_CONTAINS(e3, "\"quartic\"");
    EXPECT_CONTAINS(e3, "\"muller_brown\"");

    const std::string e4 = error_of("[ensemble]\nwalkers = \"many\"\n");
    EXPECT_CONTAINS(e4, "walkers = \"many\"");
    EXPECT_CONTAINS(e4, "integer");

    const std::string e5 = error_of("[potential]\nkind = \"harmonic\"\nk = 0\n");
    EXPECT_CONTAINS(e5, "<test>:3");
    EXPECT_CONTAINS(e5, "[potential] k = 0");

    const std::string e6 = error_of("[potential]\nkind = \"rastrigin\"\ndim = 7\n");
    EXPECT_CONTAINS(e6, "dim = 7");
    EXPECT_CONTAINS(e6, "compiled dimensions");

    const std::string e7 = error_of("[integrator]\nmass = 2\n");
    EXPECT_CONTAINS(e7, "mass");
    EXPECT_CONTAINS(e7, "underdamped");

    const std::string e8 = error_of("", {"integrator.dt=0"});
    EXPECT_CONTAINS(e8, "--set integrator.dt");

    const std::string e9 = error_of("[histogram]\nrange = [2, 1]\n");
    EXPECT_CONTAINS(e9, "lo < hi");
    const std::string e9b = error_of("[histogram]\nrange = [-1e308, 1e308]\n");
    EXPECT_CONTAINS(e9b, "finite width");

    const std::string e10 = error_of("[bogus]\nx = 1\n");
    EXPECT_CONTAINS(e10, "<test>:1: unknown section [bogus]; allowed sections: [ensemble], "
                         "[potential], [integrator], [temperature], [run], [first_passage], "
                         "[output], [histogram], [backend], [data]");
    EXPECT_CONTAINS(error_of("", {"bogus.x=1"}), "--set bogus.x: unknown section [bogus]");
    // Values read as typed: no binary artefacts, in scalars and in lists.
    EXPECT_CONTAINS(error_of("[integrator]\ndt = -0.99\n"), "dt = -0.99: must be");
    EXPECT_CONTAINS(error_of("[histogram]\nrange = [0.99, 0.3]\n"), "[0.99, 0.3]");

    const std::string e11 = error_of("[ensemble]\ninit = \"point\"\ninit_sigma = 1\n");
    EXPECT_CONTAINS(e11, "init_sigma");
    EXPECT_CONTAINS(e11, "gaussian");

    const std::string e12 = error_of("[run]\nsteps = 10\n[temperature]\nT = -1\n");
    EXPECT_CONTAINS(e12, "<test>:4");
    EXPECT_CONTAINS(e12, "T = -1");

    const std::string e13 = error_of("[ensemble\n");
    EXPECT_CONTAINS(e13, "invalid TOML");

    const std::string e14 = error_of("[potential]\nkind = \"muller_brown\"\ndim = 3\n");
    EXPECT_CONTAINS(e14, "dim = 3: muller_brown is 2-D: dim must be 2 (or left out)");

    EXPECT_CONTAINS(error_of("", {"nodot=1"}), "section.key=value");

    // Every uncompiled dim gets the rebuild hint, beyond the largest compiled one too.
    EXPECT_CONTAINS(error_of("[potential]\nkind = \"rastrigin\"\ndim = 4096\n"),
                    "<test>:3: [potential] dim = 4096: not compiled in");
    EXPECT_CONTAINS(error_of("[potential]\nkind = \"rastrigin\"\ndim = 4096\n"),
                    "-DLANGEVIN_DIMS=\"...;4096\"");
    // A [data] section without a data-defined loss: its line, or the --set that made it.
    EXPECT_CONTAINS(error_of("[potential]\nkind = \"harmonic\"\n[data]\nn = 3\n"),
                    "<test>:3: [data] applies only to data-defined potentials");
    EXPECT_CONTAINS(error_of("", {"data.n=3"}), "--set data.n: [data] applies only");
    // More trajectories than walkers would be cut silently.
    EXPECT_CONTAINS(error_of("", {"ensemble.walkers=200", "output.trajectories=201"}),
                    "[output] trajectories = 201: records walkers 0..k-1: at most [ensemble] "
                    "walkers = 200");
    EXPECT_EQ(study_from("", {"ensemble.walkers=200", "output.trajectories=200"}).trajectories,
              200u);
}

TEST(Config, MessagesSayWhichKindsReadAKeyAndWhatRangeIsAllowed) {
    // A schedule key names every kind that reads it.
    EXPECT_CONTAINS(error_of("", {"temperature.T0=1"}),
                    "[temperature] T0 = 1: only applies to kind = \"geometric\" or \"linear\" "
                    "(kind is \"constant\")");
    // An array of tables where a section belongs.
    EXPECT_CONTAINS(error_of("[[ensemble]]\nwalkers = 5\n"),
                    ":1: [[ensemble]] is an array of tables: write [ensemble]");
    // So does a key of another mode of any section that has modes.
    EXPECT_CONTAINS(error_of("", {"first_passage.radius=0.3"}),
                    "[first_passage] radius only applies to region = \"ball\" (region is "
                    "\"above\")");
    EXPECT_CONTAINS(error_of("", {"integrator.lr=0.1"}),
                    "[integrator] lr only applies to kind = \"sgd\" (kind is \"euler_maruyama\")");
    EXPECT_CONTAINS(error_of("", {"ensemble.init_sigma=0.1"}),
                    "[ensemble] init_sigma = 0.1: only used with init = \"gaussian\" (init is "
                    "\"point\")");
    EXPECT_CONTAINS(error_of("", {"potential.dim=1.5"}),
                    "[potential] dim = 1.5: double_well is 1-D: dim must be 1 (or left out)");
    // --set: spaces round section, key and value are taken off; a value that starts like an
    // array but does not parse is an error, not a string.
    EXPECT_EQ(study_from("", {" ensemble.walkers = 4096 "}).walkers, 4096u);
    EXPECT_CONTAINS(error_of("", {"histogram.range=[-3,3"}),
                    "--set histogram.range=[-3,3: [-3,3 is not a valid TOML value");
    // -0 reads as 0, in lists too, and so it is stored.
    EXPECT_FALSE(std::signbit(study_from("", {"temperature.T=-0.0"}).schedule.T));
    const Study zeros = study_from(
        "[ensemble]\ninit = \"point\"\ninit_point = [-0.0]\n[histogram]\nrange = [-0.0, 2]\n"
        "[temperature]\nkind = \"piecewise\"\nknots = [[0, 1.0], [10, -0.0]]\n");
    EXPECT_FALSE(std::signbit(zeros.init.point[0]));
    EXPECT_FALSE(std::signbit(zeros.grid.axes[0].lo));
    EXPECT_FALSE(std::signbit(zeros.schedule.knots.back().second));
    EXPECT_EQ(zeros.resolved_toml.find("-0"), std::string::npos) << zeros.resolved_toml;
    // Integers out of range or too large say the range.
    EXPECT_CONTAINS(error_of("", {"ensemble.walkers=1e30"}),
                    "[ensemble] walkers = 1e+30: must be an integer >= 1 (below 2^63)");
    EXPECT_CONTAINS(error_of("", {"run.samples=2.5"}),
                    "[run] samples = 2.5: must be an integer in [1, 100000]");
    // sample_every may not give more samples than `samples` could.
    EXPECT_CONTAINS(error_of("", {"run.steps=1000000000000", "run.sample_every=1"}),
                    "[run] sample_every = 1: gives 1000000000000 samples over 1000000000000 "
                    "steps; at most 100000");
    EXPECT_EQ(study_from("", {"run.steps=100000", "run.sample_every=1"}).samples.size(), 100000u);
    EXPECT_CONTAINS(error_of("", {"run.steps=100001", "run.sample_every=1"}),
                    "gives 100001 samples over 100001 steps; at most 100000");
    // Piecewise steps: whole and below 2^63 (a huge double is not converted), integers exactly.
    const std::vector<std::string> piecewise = {"temperature.kind=piecewise"};
    auto knots = [&](const std::string &k) {
        std::vector<std::string> sets = piecewise;
        sets.push_back("temperature.knots=" + k);
        return sets;
    };
    EXPECT_CONTAINS(error_of("", knots("[[5, 1], [1e30, 2]]")),
                    "(step 1e+30 is not a whole number in [0, 2^63))");
    EXPECT_CONTAINS(error_of("", knots("[[5, 1], [-1, 2]]")),
                    "(step -1 is not a whole number in [0, 2^63))");
    EXPECT_CONTAINS(error_of("", knots("[[5, 1], [2.5, 2]]")),
                    "(step 2.5 is not a whole number in [0, 2^63))");
    // A bad temperature is named as such, with its step.
    EXPECT_CONTAINS(error_of("", knots("[[0, 1], [10, -0.5]]")),
                    "(T = -0.5 at step 10 is not a finite number >= 0)");
    EXPECT_CONTAINS(error_of("", knots("[[0, \"hot\"]]")),
                    "(T = \"hot\" at step 0 is not a finite number >= 0)");
    const Study big = study_from("", knots("[[0, 1], [4611686018427387904, 2]]"));
    EXPECT_EQ(big.schedule.knots.back().first, std::uint64_t(1) << 62);
    // A non-finite per-dimension value is not "not a number".
    EXPECT_CONTAINS(error_of("", {"ensemble.init_point=nan"}),
                    "init_point = nan: must be a finite number");
    // Unknown [run] keys list both ways to place samples.
    EXPECT_CONTAINS(error_of("", {"run.bogus=1"}),
                    "allowed keys: sample_every, samples, spacing, steps");
    EXPECT_CONTAINS(error_of("[run]\nsamples = 3\nbogus = 1\n"),
                    "allowed keys: sample_every, samples, spacing, steps");
    // A key above every section says where it belongs.
    EXPECT_CONTAINS(error_of("walkers = 5\n"),
                    "<test>:1: key walkers is outside any [section]: put it under [ensemble]");
    EXPECT_CONTAINS(error_of("kind = \"harmonic\"\n"),
                    "put it under [backend] or [integrator] or [potential] or [temperature] "
                    "(whichever it belongs to)");
}

TEST(Config, ExampleStudiesLoad) {
    for (const char *name : {"double_well", "harmonic", "muller_brown", "brownian"}) {
        const Study s = load_study(std::string(LGV_SOURCE_DIR "/data/examples/") + name + ".toml");
        EXPECT_GT(s.walkers, 0u) << name;
    }
    EXPECT_THROW(load_study("/nonexistent/study.toml"), Error);
}

TEST(Config, ResolvedStudiesReadBackToThemselves) {
    // Resume and merge read a study back from the resolved TOML stored in its results: it must
    // parse, and resolve to the same text, for every example and every mode of each section.
    std::vector<std::pair<std::string, std::vector<std::string>>> cases;
    for (const char *name :
         {"anneal_double_well", "brownian", "double_well", "harmonic", "kramers", "muller_brown",
          "muller_brown_anneal", "rastrigin_anneal", "sgd_linear", "sgd_sine"})
        cases.push_back({name, {}});
    for (const char *lr : {"constant", "geometric", "logarithmic"})
        for (const char *model : {"sgd_linear", "sgd_sine"})
            cases.push_back({model, {std::string("integrator.lr_schedule=") + lr}});
    cases.push_back({"sgd_linear", {"potential.kind=logistic_regression"}});
    for (const char *t : {"constant", "geometric", "linear", "logarithmic"})
        cases.push_back({"double_well", {std::string("temperature.kind=") + t}});
    cases.push_back({"double_well", {"temperature.kind=piecewise", "temperature.knots=[[0, 1]]"}});
    for (const char *init : {"point", "uniform", "gaussian"})
        cases.push_back({"harmonic", {std::string("ensemble.init=") + init}});
    cases.push_back({"double_well", {"first_passage.region=below", "first_passage.level=-1"}});
    cases.push_back({"double_well", {"integrator.kind=baoab"}});
    for (const auto &[name, sets] : cases) {
        const std::string path = std::string(LGV_SOURCE_DIR "/data/examples/") + name + ".toml";
        const Study s = load_study(path, sets);
        const std::string what = name + " " + ::testing::PrintToString(sets);
        try {
            EXPECT_EQ(parse_study(s.resolved_toml, "<resolved>").resolved_toml, s.resolved_toml)
                << what;
        } catch (const Error &e) {
            ADD_FAILURE() << what << ": " << e.what();
        }
    }
}

TEST(Config, SampleSteps) {
    Study s = study_from("[run]\nsteps = 10\nsample_every = 4\n");
    EXPECT_EQ(s.samples, (std::vector<std::uint64_t>{4, 8, 10}));
    s = study_from("[run]\nsteps = 8\nsample_every = 4\n");
    EXPECT_EQ(s.samples, (std::vector<std::uint64_t>{4, 8}));
    s = study_from("[run]\nsteps = 0\n");
    EXPECT_EQ(s.samples, (std::vector<std::uint64_t>{0}));
    // Log spacing: 10^(k/4) for k = 1..4 over 10^4 steps.
    s = study_from("[run]\nsteps = 10000\nsamples = 4\nspacing = \"log\"\n");
    EXPECT_EQ(s.samples, (std::vector<std::uint64_t>{10, 100, 1000, 10000}));
    s = study_from("[run]\nsteps = 100\nsamples = 4\n");
    EXPECT_EQ(s.samples, (std::vector<std::uint64_t>{25, 50, 75, 100}));
    // Duplicates at the start of a log scale collapse.
    s = study_from("[run]\nsteps = 100\nsamples = 20\nspacing = \"log\"\n");
    EXPECT_EQ(s.samples.front(), 1u);
    EXPECT_EQ(s.samples.back(), 100u);
    EXPECT_TRUE(std::is_sorted(s.samples.begin(), s.samples.end()));
}
