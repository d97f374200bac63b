// Text tables and the JSON document.
#include "langevin/report.hpp"

#include <cmath>
#include <cstdio>
#include <iomanip>

#include <nlohmann/json.hpp>

namespace langevin {
namespace {

using nlohmann::json;

json maybe(bool available, double value) {
    return available ? json(value) : json(nullptr);
}
json num(double value) {
    return std::isfinite(value) ? json(value) : json(nullptr);
}

std::string fixed(double v, int precision = 4) {
    if (std::isnan(v))
        return "n/a"; // e.g. the mean of no finite walker
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    return buf;
}

std::string integrator_name(const Model &m) {
    return std::visit([](const auto &i) { return std::string(i.name); }, m.integrator);
}
std::string potential_name(const Model &m) {
    return std::visit([](const auto &p) { return std::string(p.name); }, m.potential);
}
double integrator_dt(const Model &m) {
    return std::visit([](const auto &i) { return i.dt; }, m.integrator);
}

} // namespace

std::string result_json(const Study &study, const RunResult &result) {
    json doc;
    doc["config"] = json::parse(study.resolved_json);
    doc["backend"] = result.backend;
    doc["device"] = result.device;
    doc["walkers"] = result.walkers;
    doc["steps"] = result.steps;
    doc["chunks"] = result.chunks;
    doc["seconds"] = result.seconds;
    doc["walker_steps_per_second"] = result.walker_steps_per_second;
    json samples = json::array();
    for (const SampleResult &s : result.samples) {
        const Comparison &c = s.comparison;
        json j;
        j["step"] = s.step;
        j["time"] = s.time;
        j["T"] = s.temperature;
        j["kl"] = maybe(c.available, c.kl);
        j["tv"] = maybe(c.available, c.tv);
        j["chi2"] = maybe(c.available && c.chi2_dof > 0, c.chi2); // one group: no test
        j["chi2_dof"] = maybe(c.available, c.chi2_dof);
        j["chi2_p"] = maybe(c.available && c.chi2_dof > 0, c.chi2_p);
        j["mean"] = s.mean;
        j["var"] = s.var;
        j["mean_energy"] = s.mean_energy;
        j["kinetic_T"] = num(s.kinetic_temperature);
        j["outside"] = s.outside;
        j["nonfinite"] = s.nonfinite;
        json basins = json::array();
        for (const BasinResult &b : s.basins)
            basins.push_back({{"name", b.name},
                              {"empirical", b.empirical},
                              {"boltzmann", maybe(b.boltzmann >= 0, b.boltzmann)}});
        j["basins"] = basins;
        j["global_basin_fraction"] = num(s.global_basin_fraction);
        j["global_basin_boltzmann"] = num(s.global_basin_boltzmann);
        j["best_energy"] = num(s.best_energy);
        j["best_position"] = s.best_position;
        j["boltzmann_mean_energy"] = num(s.boltzmann_mean_energy);
        j["energy_lag_z"] = num(s.energy_lag_z);
        j["quasi_equilibrium"] =
            std::isfinite(s.energy_lag_z) ? json(std::fabs(s.energy_lag_z) < 5.0) : json(nullptr);
        j["msd"] = num(s.msd);
        j["msd_einstein"] = num(s.msd_einstein);
        j["msd_exact"] = num(s.msd_exact);
        if (study.model.target.active()) {
            j["hits"] = s.hits;
            j["survival"] = num(s.survival);
        }
        json hists = json::array();
        for (const HistogramResult &h : s.histograms) {
            json axes = json::array();
            for (const Axis &a : h.axes)
                axes.push_back({{"lo", a.lo}, {"hi", a.hi}, {"bins", a.bins}});
            const Comparison &hc = h.comparison;
            hists.push_back({{"dims", h.dims},
                             {"axes", axes},
                             {"counts", h.counts},
                             {"outside", h.outside},
                             {"nonfinite", h.nonfinite},
                             {"boltzmann", h.reference.empty() ? json(nullptr) : json(h.reference)},
                             {"kl", maybe(hc.available, hc.kl)},
                             {"tv", maybe(hc.available, hc.tv)},
                             {"chi2", maybe(hc.available && hc.chi2_dof > 0, hc.chi2)},
                             {"chi2_dof", maybe(hc.available, hc.chi2_dof)},
                             {"chi2_p", maybe(hc.available && hc.chi2_dof > 0, hc.chi2_p)}});
        }
        j["histograms"] = hists;
        samples.push_back(j);
    }
    doc["samples"] = samples;
    doc["schedule"] = schedule_text(study);
    if (study.sgd.active) {
        const SgdTheory &th = study.sgd;
        doc["sgd"] = {{"batch", th.batch},
                      {"n", th.n},
                      {"full_batch", th.full_batch},
                      {"w_star", th.w_star},
                      {"loss_star", th.loss_star},
                      {"gradient_variance", th.gradient_variance},
                      {"t_eff_per_lr", th.t_eff_per_lr},
                      {"exact_mean", num(th.exact_mean)},
                      {"exact_var", num(th.exact_var)}};
    }
    doc["stopped"] = result.stopped;
    if (result.stopped)
        doc["stop_reason"] = result.stop_reason;
    const FirstPassageResult &fp = result.first_passage;
    if (fp.active)
        doc["first_passage"] = {{"hits", fp.hits},
                                {"censored", fp.censored},
                                {"mean", num(fp.mean)},
                                {"standard_error", num(fp.standard_error)},
                                {"exact", num(fp.exact)},
                                {"exact_continuum", num(fp.exact_continuum)},
                                {"kramers", num(fp.kramers)},
                                {"histogram", json{{"lo", fp.axis.lo},
                                                   {"hi", fp.axis.hi},
                                                   {"bins", fp.axis.bins},
                                                   {"counts", fp.counts}}}};
    const Trajectories &tr = result.trajectories;
    if (tr.walkers > 0)
        doc["trajectories"] = {{"walkers", tr.walkers},
                               {"dim", tr.dim},
                               {"steps", tr.steps},
                               {"positions", tr.positions}};
    return doc.dump(2);
}

std::string nonfinite_advice(const Study &study, const RunResult &result) {
    if (result.stopped)
        return {}; // the stop's error line gives the advice
    for (const SampleResult &s : result.samples) {
        if (s.nonfinite == 0)
            continue;
        return detail::concat(
            "warning: ", s.nonfinite, " of ", study.walkers,
            " walkers were non-finite (NaN or inf) by step ", s.step, " (first sample with any; ",
            "they are excluded from histograms and moments",
            study.model.target.active()
                ? ", but first-passage counts keep those that reached the target before"
                : "",
            "). ", nonfinite_remedy(study), ".");
    }
    return {};
}

void print_result(std::ostream &out, const Study &study, const RunResult &result) {
    const Model &m = study.model;
    out << "study      " << study.source << "\n"
        << "model      " << potential_name(m) << " (D = " << m.dim() << "), " << integrator_name(m)
        << ", dt = " << integrator_dt(m) << ", "
        << (m.precision == Precision::float32 ? "float32" : "float64") << "\n"
        << "schedule   " << schedule_text(study) << "\n"
        << "walkers    " << result.walkers;
    const std::uint64_t own = result.range.end - result.range.begin;
    if (study.shard.count > 1) { // a shard: its own walkers (all of them when there is one block)
        out << " (shard " << study.shard.index << "/" << study.shard.count << ": " << own;
        if (own > 0)
            out << ", walkers " << result.range.begin << ".." << result.range.end - 1;
        out << ")";
    }
    out << " in " << result.chunks << " chunk(s), " << result.steps << " steps, seed " << m.seed
        << "\n"
        << "backend    " << result.backend << " (" << result.device << ")\n\n";
    const bool has_basins = !result.samples.empty() && !result.samples[0].basins.empty();
    const bool fp = m.target.active();
    // The table: each column as wide as its usual width or its widest cell plus a space, so a
    // long value (a step count, a small T) never runs into the next column.
    std::vector<std::string> header = {"step",     "time", "T",   "KL",    "TV",
                                       "chi2/dof", "p",    "<E>", "lag z", "best E"};
    std::vector<std::size_t> width = {10, 10, 9, 11, 11, 15, 10, 11, 10, 13};
    if (m.underdamped()) {
        header.push_back("kin. T");
        width.push_back(9);
    }
    if (fp) {
        header.push_back("survival");
        width.push_back(10);
    }
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> basin_text;
    for (const SampleResult &s : result.samples) {
        const Comparison &c = s.comparison;
        auto opt = [](double v, int p) { return std::isfinite(v) ? fixed(v, p) : "n/a"; };
        std::vector<std::string> row = {std::to_string(s.step),
                                        fixed(s.time),
                                        fixed(s.temperature, 4),
                                        c.available ? fixed(c.kl, 3) : "n/a",
                                        c.available ? fixed(c.tv, 3) : "n/a",
                                        c.available && c.chi2_dof > 0
                                            ? fixed(c.chi2, 4) + "/" + std::to_string(c.chi2_dof)
                                            : "n/a",
                                        c.available && c.chi2_dof > 0 ? fixed(c.chi2_p, 3) : "n/a",
                                        fixed(s.mean_energy, 5),
                                        opt(s.energy_lag_z, 3),
                                        opt(s.best_energy, 6)};
        if (m.underdamped())
            row.push_back(fixed(s.kinetic_temperature, 4));
        if (fp)
            row.push_back(opt(s.survival, 4));
        std::string basins;
        for (const BasinResult &b : s.basins)
            basins += (basins.empty() ? "" : "  ") + b.name + " " + fixed(b.empirical, 4) + "/" +
                      (b.boltzmann >= 0 ? fixed(b.boltzmann, 4) : "n/a");
        for (std::size_t j = 0; j < row.size(); ++j)
            width[j] = std::max(width[j], row[j].size() + 1);
        rows.push_back(std::move(row));
        basin_text.push_back(std::move(basins));
    }
    auto write_row = [&](const std::vector<std::string> &cells, const std::string &last) {
        for (std::size_t j = 0; j < cells.size(); ++j)
            out << cells[j]
                << std::string(
                       j + 1 < cells.size() || !last.empty() ? width[j] - cells[j].size() : 0, ' ');
        out << last << "\n";
    };
    write_row(header, has_basins ? "basins (empirical / Boltzmann)" : "");
    for (std::size_t i = 0; i < rows.size(); ++i)
        write_row(rows[i], basin_text[i]);
    if (!result.samples.empty()) {
        const SampleResult &last = result.samples.back();
        out << "\nfinal mean ";
        for (double v : last.mean)
            out << fixed(v, 5) << " ";
        out << "  variance ";
        for (std::size_t d = 0; d < last.var.size(); ++d)
            out << (d ? " " : "") << fixed(last.var[d], 5);
        // BAOAB's friction is a rate: its free particle diffuses with T / (m gamma).
        out << "\nMSD        " << fixed(last.msd, 5) << " (Einstein 2 D "
            << (m.underdamped() ? "T/(m gamma)" : "(T/gamma)")
            << " t: " << (std::isfinite(last.msd_einstein) ? fixed(last.msd_einstein, 5) : "n/a");
        if (std::isfinite(last.msd_exact))
            out << "; exact for free " << integrator_name(m)
                << " motion at this dt: " << fixed(last.msd_exact, 5);
        out << ")";
        if (std::isfinite(last.best_energy)) {
            out << "\nbest       E = " << fixed(last.best_energy, 8) << " at (";
            for (std::size_t d = 0; d < last.best_position.size(); ++d)
                out << (d ? ", " : "") << fixed(last.best_position[d], 6);
            out << ")";
        }
        if (std::isfinite(last.global_basin_fraction))
            out << "\nglobal basin " << fixed(last.global_basin_fraction, 4) << " (Boltzmann "
                << (std::isfinite(last.global_basin_boltzmann)
                        ? fixed(last.global_basin_boltzmann, 4)
                        : "n/a")
                << ")";
        out << "\n";
    }
    const FirstPassageResult &f = result.first_passage;
    if (f.active) {
        auto opt = [](double v) { return std::isfinite(v) ? fixed(v, 6) : "n/a"; };
        out << "\nfirst passage: " << f.hits << " walkers reached the target, " << f.censored
            << " did not (censored)\n"
            << "  mean first-passage time " << opt(f.mean) << " +- " << opt(f.standard_error)
            << " (over walkers that reached it)\n"
            << "  exact for this dt (the Euler-Maruyama chain) " << opt(f.exact)
            << ", continuum (dt -> 0) " << opt(f.exact_continuum) << ", Kramers 1/k "
            << opt(f.kramers) << "\n";
    }
    if (study.sgd.active) {
        const SgdTheory &th = study.sgd;
        auto opt = [](double v) { return std::isfinite(v) ? fixed(v, 6) : "n/a"; };
        out << "\nSGD: w* = (";
        for (std::size_t d = 0; d < th.w_star.size(); ++d)
            out << (d ? ", " : "") << fixed(th.w_star[d], 6);
        out << "), L(w*) = " << fixed(th.loss_star, 6)
            << ", per-sample gradient variance tr C = " << fixed(th.gradient_variance, 6) << "\n"
            << "  T column: T + T_eff, T_eff = lr tr C / (2 B D) = lr * "
            << fixed(th.t_eff_per_lr, 6)
            << (th.full_batch ? " (full batch: no mini-batch noise)" : "") << "\n";
        if (std::isfinite(th.exact_mean) && !result.samples.empty()) {
            const SampleResult &last = result.samples.back();
            out << "  exact stationary mean " << opt(th.exact_mean) << ", variance "
                << opt(th.exact_var) << " (constant-rate SGD on linear regression); measured "
                << fixed(last.mean[0], 6) << ", " << fixed(last.var[0], 6) << "\n";
        }
    }
    out << "\n"
        << fixed(result.walker_steps_per_second, 3) << " walker-steps/s ("
        << fixed(result.seconds, 3) << " s, sampling included)\n";
    if (result.stopped)
        out << "stopped: " << result.stop_reason << "\n";
    const std::string advice = nonfinite_advice(study, result);
    if (!advice.empty())
        out << advice << "\n";
}

void print_info(std::ostream &out) {
    out << "backends\n";
    // Both, compiled in or not: a CPU-only build says why it has no cuda.
    for (const std::string b : {"cuda", "cpu"}) {
        std::string why;
        const bool ok = backend_available(b, &why);
        out << "  " << std::left << std::setw(6) << b << (ok ? "available" : "unavailable: " + why)
            << "\n";
    }
#if defined(LGV_HAVE_CUDA)
    for (const std::string &d : cuda_device_descriptions())
        out << "    " << d << "\n";
#endif
    out << "\npotentials ([potential] kind = ...; D-generic ones take dim = "
        << dim_list_text(CompiledDims{}) << ")\n";
    for_each_alternative<Potential>([&](auto p) {
        using P = decltype(p);
        out << "  " << std::setw(21) << P::name << P::summary;
        if (P::fixed_dim > 0)
            out << " [D = " << P::fixed_dim << "]";
        out << "\n";
        for (const ParamSpec &s : P::params())
            out << "      " << std::setw(10) << s.name << "default " << std::setw(10)
                << fixed(s.default_value, 6) << s.doc << "\n";
        if constexpr (is_data_defined<P>) {
            out << "      data      [data] file = \"x,y CSV or HDF5\", or synthetic (n, seed, "
                   "w_true, ...)\n";
        } else if (P::basin_count() > 0) {
            out << "      basins    ";
            for (int b = 0; b < P::basin_count(); ++b)
                out << (b ? ", " : "") << P::basin_name(b);
            out << "\n";
        }
    });
    out << "\nintegrators ([integrator] kind = ...)\n";
    for_each_alternative<Integrator>([&](auto i) {
        using I = decltype(i);
        out << "  " << std::setw(22) << I::name << I::summary << "\n";
        for (const IntegratorParamSpec &s : I::params())
            out << "      " << std::setw(10) << s.name << "default " << std::setw(10)
                << fixed(s.default_value, 6) << s.doc << "\n";
        if constexpr (is_minibatch<I>)
            out << "      lr_schedule default constant   constant | geometric | logarithmic\n";
    });
}

} // namespace langevin
