// Data sets for the data-defined losses: synthetic (Philox, reproducible anywhere), CSV, HDF5.
#include <atomic>
#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "io/hdf5.hpp"
#include "langevin/config.hpp"
#include "langevin/data.hpp"
#include "langevin/error.hpp"
#include "langevin/rng.hpp"

namespace langevin {
namespace {

std::uint64_t next_id() {
    static std::atomic<std::uint64_t> id{1};
    return id++;
}

std::shared_ptr<Dataset> finish(std::vector<double> x, std::vector<double> y, std::string source) {
    auto d = std::make_shared<Dataset>();
    d->x = std::move(x);
    d->y = std::move(y);
    d->source = std::move(source);
    d->id = next_id();
    return d;
}

std::string trim(const std::string &s) {
    const auto a = s.find_first_not_of(" \t\r");
    if (a == std::string::npos)
        return "";
    return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

/// A whole-string number, or false.
enum class Parsed { number, not_a_number, out_of_range };

/// A decimal number (digits, sign, point, exponent: no hex, inf or nan) that fits a double.
Parsed parse_number(const std::string &text, double &out) {
    const std::string t = trim(text);
    if (t.empty() || t.find_first_not_of("0123456789+-.eE") != std::string::npos)
        return Parsed::not_a_number;
    std::size_t used = 0;
    try {
        out = std::stod(t, &used);
    } catch (const std::out_of_range &) {
        return Parsed::out_of_range;
    } catch (const std::exception &) {
        return Parsed::not_a_number;
    }
    return used == t.size() ? Parsed::number : Parsed::not_a_number;
}

std::shared_ptr<const Dataset> load_csv(const std::string &path) {
    std::ifstream in(path);
    LGV_REQUIRE(in.good(), "[data] file = \"", path, "\": cannot open it");
    std::vector<double> x, y;
    std::string line;
    int number = 0;
    bool header_allowed = true;
    while (std::getline(in, line)) {
        ++number;
        std::string t = trim(line);
        if (t.empty() || t[0] == '#')
            continue;
        for (char &c : t) // messages quote the line: no control bytes (a NUL would cut it)
            c = (c >= 0 && c < 32 && c != '\t') || c == 127 ? '?' : c;
        std::vector<std::string> fields(1); // every field, empty ones included ("1,2,")
        for (const char c : t)
            if (c == ',')
                fields.emplace_back();
            else
                fields.back() += c;
        double a = 0, b = 0;
        const Parsed pa = fields.size() == 2 ? parse_number(fields[0], a) : Parsed::not_a_number;
        const Parsed pb = fields.size() == 2 ? parse_number(fields[1], b) : Parsed::not_a_number;
        const bool numeric = pa == Parsed::number && pb == Parsed::number;
        LGV_REQUIRE(pa != Parsed::out_of_range && pb != Parsed::out_of_range, path, ":", number,
                    ": '", t, "': a number beyond double's range (magnitudes 2.2e-308 to 1.8e308)");
        if (!numeric && header_allowed && fields.size() == 2) { // a header line such as "x,y"
            header_allowed = false;
            continue;
        }
        LGV_REQUIRE(numeric, path, ":", number, ": '", t,
                    "': want two decimal numbers 'x,y' per line (one header line and # comments "
                    "allowed)");
        LGV_REQUIRE(std::isfinite(a) && std::isfinite(b), path, ":", number, ": '", t,
                    "': x and y must be finite");
        header_allowed = false;
        x.push_back(a);
        y.push_back(b);
    }
    LGV_REQUIRE(!x.empty(), "[data] file = \"", path, "\": no data rows (want lines 'x,y')");
    return finish(std::move(x), std::move(y), path);
}

std::shared_ptr<const Dataset> load_hdf5(const std::string &path, const std::string &x_name,
                                         const std::string &y_name) {
    const h5::File file = h5::File::open(path);
    const h5::Group root = file.root();
    for (const std::string &name : {x_name, y_name}) {
        LGV_REQUIRE(root.has(name), "[data] file = \"", path, "\": no dataset '/", name,
                    "' (set [data] x_dataset / y_dataset to the names it uses)");
        const h5::DatasetShape shape = root.dataset_shape(name);
        LGV_REQUIRE(shape.is_dataset && shape.numeric && shape.rank == 1, "[data] file = \"", path,
                    "\": '/", name, "' is ",
                    !shape.is_dataset ? "not a dataset"
                    : !shape.numeric  ? "not numbers (integers or floats)"
                                      : detail::concat("of rank ", shape.rank),
                    ": want a 1-D dataset of numbers, one per pair");
    }
    std::vector<double> x = root.read_doubles(x_name), y = root.read_doubles(y_name);
    LGV_REQUIRE(x.size() == y.size(), "[data] file = \"", path, "\": '/", x_name, "' has ",
                x.size(), " values but '/", y_name, "' has ", y.size());
    LGV_REQUIRE(!x.empty(), "[data] file = \"", path, "\": the datasets are empty");
    for (std::size_t i = 0; i < x.size(); ++i)
        LGV_REQUIRE(std::isfinite(x[i]) && std::isfinite(y[i]), "[data] file = \"", path,
                    "\": pair ", i, " (", x[i], ", ", y[i], ") is not finite");
    return finish(std::move(x), std::move(y), path);
}

} // namespace

std::uint64_t data_fingerprint(const Dataset &data) {
    std::uint64_t h = 14695981039346656037ull;
    for (const std::vector<double> *v : {&data.x, &data.y}) {
        const auto *bytes = reinterpret_cast<const unsigned char *>(v->data());
        for (std::size_t i = 0; i < v->size() * sizeof(double); ++i)
            h = (h ^ bytes[i]) * 1099511628211ull;
    }
    return h;
}

std::shared_ptr<const Dataset> synthetic_dataset(const SyntheticSpec &spec) {
    LGV_REQUIRE(spec.n >= 1, "[data] n = ", spec.n, ": must be >= 1");
    std::vector<double> x(spec.n), y(spec.n);
    const std::uint64_t key = stream_key(spec.seed, Purpose::data);
    for (std::uint64_t i = 0; i < spec.n; ++i) {
        WalkerRng rng(key, i, 0);
        Vec<double, 2> g; // two normals
        rng.normals(g);
        Vec<double, 2> u; // then two uniforms on (0, 1]
        rng.uniforms(u);
        if (spec.model == "linear_regression") {
            x[i] = g[0];
            y[i] = spec.w_true * x[i] + spec.noise * g[1];
        } else if (spec.model == "logistic_regression") {
            x[i] = g[0];
            const double p = 1.0 / (1.0 + std::exp(-(spec.w_true * x[i] + spec.b_true)));
            y[i] = u[0] <= p ? 1.0 : -1.0;
        } else if (spec.model == "sine_fit") {
            x[i] = spec.x_max * u[0];
            y[i] = std::sin(spec.w_true * x[i]) + spec.noise * g[1];
        } else {
            LGV_REQUIRE(false, "[data] synthetic data for potential '", spec.model,
                        "': only linear_regression, logistic_regression and sine_fit have a "
                        "generator");
        }
    }
    return finish(std::move(x), std::move(y),
                  detail::concat("synthetic ", spec.model, " n=", spec.n, " seed=", spec.seed,
                                 " w_true=", spec.w_true, " b_true=", spec.b_true,
                                 " noise=", spec.noise, " x_max=", spec.x_max));
}

std::shared_ptr<const Dataset> load_dataset(const std::string &path, const std::string &x_name,
                                            const std::string &y_name) {
    const std::string why = unreadable_input(path);
    LGV_REQUIRE(why.empty(), "[data] file = \"", path, "\": ", why);
    {
        std::ifstream probe(path);
        LGV_REQUIRE(probe.good(), "[data] file = \"", path, "\": not readable");
    }
    const bool hdf5 =
        path.size() > 3 && (path.substr(path.size() - 3) == ".h5" ||
                            (path.size() > 5 && path.substr(path.size() - 5) == ".hdf5"));
    return hdf5 ? load_hdf5(path, x_name, y_name) : load_csv(path);
}

std::shared_ptr<const Dataset> default_dataset(const std::string &model) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<const Dataset>> made;
    const std::lock_guard<std::mutex> lock(mutex);
    auto &d = made[model];
    if (!d)
        d = synthetic_dataset(synthetic_defaults(model));
    return d;
}

std::vector<std::string> synthetic_keys(const std::string &model) {
    if (model == "logistic_regression")
        return {"n", "seed", "w_true", "b_true"};
    if (model == "linear_regression")
        return {"n", "seed", "w_true", "noise"};
    if (model == "sine_fit")
        return {"n", "seed", "w_true", "noise", "x_max"};
    return {"n", "seed", "w_true"}; // what every synthetic set reads
}

SyntheticSpec synthetic_defaults(const std::string &model) {
    SyntheticSpec spec;
    spec.model = model;
    if (model == "linear_regression") {
        spec.w_true = 1.0, spec.noise = 0.5;
    } else if (model == "logistic_regression") {
        spec.w_true = 2.0, spec.b_true = 0.5;
    } else {
        spec.w_true = 2.0, spec.noise = 0.3, spec.x_max = 3.0;
    }
    return spec;
}

} // namespace langevin
