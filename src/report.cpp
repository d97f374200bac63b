// Text tables and the JSON document.
#include "langevin/report.hpp"

#include <cstdio>
#include <iomanip>

#include <nlohmann/json.hpp>

namespace langevin {
namespace {

using nlohmann::json;

json maybe(bool available, double value) {
    return available ? json(value) : json(nullptr);
}

std::string fixed(double v, int precision = 4) {
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
        j["chi2"] = maybe(c.available, c.chi2);
        j["chi2_dof"] = maybe(c.available, c.chi2_dof);
        j["chi2_p"] = maybe(c.available && c.chi2_dof > 0, c.chi2_p);
        j["mean"] = s.mean;
        j["var"] = s.var;
        j["mean_energy"] = s.mean_energy;
        j["kinetic_T"] = maybe(s.kinetic_temperature >= 0, s.kinetic_temperature);
        j["outside"] = s.outside;
        j["nonfinite"] = s.nonfinite;
        json basins = json::array();
        for (const BasinResult &b : s.basins)
            basins.push_back({{"name", b.name},
                              {"empirical", b.empirical},
                              {"boltzmann", maybe(b.boltzmann >= 0, b.boltzmann)}});
        j["basins"] = basins;
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
                             {"chi2", maybe(hc.available, hc.chi2)},
                             {"chi2_dof", maybe(hc.available, hc.chi2_dof)},
                             {"chi2_p", maybe(hc.available && hc.chi2_dof > 0, hc.chi2_p)}});
        }
        j["histograms"] = hists;
        samples.push_back(j);
    }
    doc["samples"] = samples;
    return doc.dump(2);
}

std::string nonfinite_advice(const Study &study, const RunResult &result) {
    for (const SampleResult &s : result.samples) {
        if (s.nonfinite == 0)
            continue;
        const double dt = integrator_dt(study.model);
        return detail::concat(
            "warning: ", s.nonfinite, " of ", study.walkers,
            " walkers were non-finite (NaN or inf) by step ", s.step, " (first sample with any; ",
            "they are excluded from histograms and moments). integrator.dt = ", dt,
            " is probably too large for this potential: try dt = ", dt / 10,
            " (--set integrator.dt=", dt / 10, ").");
    }
    return {};
}

void print_result(std::ostream &out, const Study &study, const RunResult &result) {
    const Model &m = study.model;
    out << "study      " << study.source << "\n"
        << "model      " << potential_name(m) << " (D = " << m.dim() << "), " << integrator_name(m)
        << ", dt = " << integrator_dt(m) << ", T = " << study.temperature << ", "
        << (m.precision == Precision::float32 ? "float32" : "float64") << "\n"
        << "walkers    " << result.walkers << " in " << result.chunks << " chunk(s), "
        << result.steps << " steps, seed " << m.seed << "\n"
        << "backend    " << result.backend << " (" << result.device << ")\n\n";
    const bool has_basins = !result.samples.empty() && !result.samples[0].basins.empty();
    out << std::left << std::setw(10) << "step" << std::setw(10) << "time" << std::setw(11) << "KL"
        << std::setw(11) << "TV" << std::setw(15) << "chi2/dof" << std::setw(11) << "p"
        << std::setw(12) << "<E>" << std::setw(10) << "outside";
    if (m.underdamped())
        out << std::setw(9) << "kin. T";
    if (has_basins)
        out << "basins (empirical / Boltzmann)";
    out << "\n";
    for (const SampleResult &s : result.samples) {
        const Comparison &c = s.comparison;
        out << std::setw(10) << s.step << std::setw(10) << fixed(s.time) << std::setw(11)
            << (c.available ? fixed(c.kl, 3) : "n/a") << std::setw(11)
            << (c.available ? fixed(c.tv, 3) : "n/a") << std::setw(15)
            << (c.available ? fixed(c.chi2, 4) + "/" + std::to_string(c.chi2_dof) : "n/a")
            << std::setw(11) << (c.available && c.chi2_dof > 0 ? fixed(c.chi2_p, 3) : "n/a")
            << std::setw(12) << fixed(s.mean_energy, 5) << std::setw(10) << s.outside;
        if (m.underdamped())
            out << std::setw(9) << fixed(s.kinetic_temperature, 4);
        for (const BasinResult &b : s.basins)
            out << b.name << " " << fixed(b.empirical, 4) << "/"
                << (b.boltzmann >= 0 ? fixed(b.boltzmann, 4) : "n/a") << "  ";
        out << "\n";
    }
    if (!result.samples.empty()) {
        const SampleResult &last = result.samples.back();
        out << "\nfinal mean ";
        for (double v : last.mean)
            out << fixed(v, 5) << " ";
        out << "  variance ";
        for (double v : last.var)
            out << fixed(v, 5) << " ";
        out << "\n";
    }
    out << "\n"
        << fixed(result.walker_steps_per_second, 3) << " walker-steps/s ("
        << fixed(result.seconds, 3) << " s, sampling included)\n";
    const std::string advice = nonfinite_advice(study, result);
    if (!advice.empty())
        out << advice << "\n";
}

void print_info(std::ostream &out) {
    out << "backends\n";
    for (const std::string &b : compiled_backends()) {
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
        out << "  " << std::setw(16) << P::name << P::summary;
        if (P::fixed_dim > 0)
            out << " [D = " << P::fixed_dim << "]";
        out << "\n";
        for (const ParamSpec &s : P::params())
            out << "      " << std::setw(10) << s.name << "default " << std::setw(10)
                << fixed(s.default_value, 6) << s.doc << "\n";
        if (P::basin_count() > 0) {
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
    });
}

} // namespace langevin
