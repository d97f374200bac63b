// TOML study files: schema, defaults, validation, overrides.
#include "langevin/config.hpp"
#include "langevin/data.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <toml++/toml.h>
#include <unistd.h>

namespace langevin {
namespace {

/// Every section a study may have, in the README's order.
constexpr const char *kSections[] = {"ensemble", "potential",     "integrator", "temperature",
                                     "run",      "first_passage", "output",     "histogram",
                                     "backend",  "data"};

std::string join(const std::vector<std::string> &items, const std::string &separator = ", ") {
    std::string out;
    for (std::size_t k = 0; k < items.size(); ++k)
        out += (k ? separator : "") + items[k];
    return out;
}

std::string node_text(const toml::node &node) {
    if (const auto str = node.value_exact<std::string>())
        return "\"" + *str + "\"";
    if (const auto x = node.value_exact<double>())
        return detail::number_text(*x);
    if (const toml::array *a = node.as_array()) {
        std::vector<std::string> items;
        for (const toml::node &item : *a)
            items.push_back(node_text(item));
        return "[" + join(items) + "]";
    }
    std::ostringstream out;
    node.visit([&](const auto &v) { out << v; });
    return out.str();
}

/// The keys each mode of a section uses, for the modes a --set may switch.
struct ModeKeys {
    std::string section, mode_key;
    std::map<std::string, std::set<std::string>> keys; ///< mode -> the keys it reads
    std::string default_mode;                          ///< the mode when mode_key is absent
};

template <class Variant> std::map<std::string, std::set<std::string>> registry_keys() {
    std::map<std::string, std::set<std::string>> out;
    for_each_alternative<Variant>([&](auto alt) {
        using A = decltype(alt);
        std::set<std::string> &keys = out[A::name];
        for (const auto &p : A::params())
            keys.insert(p.name);
        if constexpr (std::is_same_v<Variant, Potential>) {
            if (A::fixed_dim == 0)
                keys.insert("dim");
        }
    });
    return out;
}

/// Every key synthetic [data] may have (synthetic_keys(kind) says which a model reads).
const char *const kSyntheticDataKeys[] = {"n", "seed", "w_true", "b_true", "noise", "x_max"};

/// Every section whose keys depend on a mode key, with the keys of each mode.
std::vector<ModeKeys> section_modes() {
    auto integrators = registry_keys<Integrator>();
    integrators["sgd"].insert("lr_schedule");
    return {{"temperature",
             "kind",
             {{"constant", {"T"}},
              {"linear", {"T0", "T1", "steps"}},
              {"geometric", {"T0", "T1", "steps", "rate"}},
              {"logarithmic", {"c", "n0"}},
              {"piecewise", {"knots"}}},
             "constant"},
            {"integrator", "kind", integrators, "euler_maruyama"},
            {"potential", "kind", registry_keys<Potential>(), "double_well"},
            {"ensemble",
             "init",
             {{"point", {"init_point"}},
              {"uniform", {"init_low", "init_high"}},
              {"gaussian", {"init_point", "init_sigma"}}},
             "point"},
            {"data",
             "file",
             {{"file", {"x_dataset", "y_dataset"}},
              {"synthetic", {std::begin(kSyntheticDataKeys), std::end(kSyntheticDataKeys)}}},
             "synthetic"},
            {"first_passage",
             "region",
             {{"above", {"coordinate", "level"}},
              {"below", {"coordinate", "level"}},
              {"ball", {"centre", "radius"}}},
             "above"}};
}

/// Reads keys section by section, remembering what it used (for unknown-key errors), where each
/// key came from (for messages) and the resolved value (for output).
class Reader {
public:
    Reader(toml::table root, std::string source, std::set<std::string> overridden)
        : root_(std::move(root)), source_(std::move(source)), overridden_(std::move(overridden)) {}

    std::string where(const std::string &section, const std::string &key) const {
        const std::string full = section + "." + key;
        if (overridden_.count(full))
            return "--set " + full + ": ";
        if (const toml::node *n = find(section, key))
            return detail::concat(source_, ":", n->source().begin.line, ": ");
        return source_ + ": ";
    }

    [[noreturn]] void fail(const std::string &section, const std::string &key,
                           const std::string &value, const std::string &allowed) const {
        throw Error(detail::concat(where(section, key), "[", section, "] ", key, " = ", value, ": ",
                                   allowed));
    }

    const toml::node *find(const std::string &section, const std::string &key) const {
        const toml::table *t = root_[section].as_table();
        return t ? t->get(key) : nullptr;
    }
    bool has(const std::string &section, const std::string &key) const {
        return find(section, key) != nullptr;
    }

    double number(const std::string &section, const std::string &key, double fallback,
                  const char *rule = nullptr, bool (*ok)(double) = nullptr) {
        used_[section].insert(key);
        double v = fallback;
        if (const toml::node *n = find(section, key)) {
            if (auto i = n->value_exact<std::int64_t>())
                v = double(*i);
            else if (auto f = n->value_exact<double>())
                v = *f;
            else
                fail(section, key, node_text(*n), "must be a number");
            if (!std::isfinite(v))
                fail(section, key, node_text(*n), "must be finite");
        }
        if (ok && !ok(v))
            fail(section, key, detail::concat(v), rule);
        v = v == 0 ? 0.0 : v; // -0 reads as 0 (no key means anything else by it)
        resolved_[section].insert_or_assign(key, v);
        return v;
    }

    std::int64_t integer(const std::string &section, const std::string &key, std::int64_t fallback,
                         std::int64_t min, std::int64_t max = INT64_MAX) {
        used_[section].insert(key);
        const std::string rule =
            max == INT64_MAX ? detail::concat("must be an integer >= ", min, " (below 2^63)")
                             : detail::concat("must be an integer in [", min, ", ", max, "]");
        std::int64_t v = fallback;
        if (const toml::node *n = find(section, key)) {
            if (auto i = n->value_exact<std::int64_t>())
                v = *i;
            else if (auto f = n->value_exact<double>();
                     f && *f == std::floor(*f) && std::fabs(*f) < 9.0e18)
                v = static_cast<std::int64_t>(*f); // 1e6 is fine
            else
                fail(section, key, node_text(*n), rule);
        }
        if (v < min || v > max)
            fail(section, key, detail::concat(v), rule);
        resolved_[section].insert_or_assign(key, v);
        return v;
    }

    bool boolean(const std::string &section, const std::string &key, bool fallback) {
        used_[section].insert(key);
        bool v = fallback;
        if (const toml::node *n = find(section, key)) {
            if (auto b = n->value_exact<bool>())
                v = *b;
            else
                fail(section, key, node_text(*n), "must be true or false");
        }
        resolved_[section].insert_or_assign(key, v);
        return v;
    }

    std::string choice(const std::string &section, const std::string &key,
                       const std::string &fallback, const std::vector<std::string> &allowed) {
        used_[section].insert(key);
        std::string v = fallback;
        if (const toml::node *n = find(section, key)) {
            if (auto s = n->value_exact<std::string>())
                v = *s;
            else
                fail(section, key, node_text(*n), "must be a string: one of " + quoted(allowed));
        }
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
            fail(section, key, "\"" + v + "\"", "allowed values are " + quoted(allowed));
        resolved_[section].insert_or_assign(key, v);
        return v;
    }

    /// A number (broadcast to every dimension) or an array of exactly `dim` numbers.
    std::vector<double> per_dim(const std::string &section, const std::string &key,
                                const std::vector<double> &fallback, int dim) {
        used_[section].insert(key);
        std::vector<double> v = fallback;
        if (const toml::node *n = find(section, key)) {
            v.clear();
            if (const toml::array *a = n->as_array()) {
                for (const auto &e : *a) {
                    auto x = e.value<double>();
                    if (!x || !std::isfinite(*x))
                        fail(section, key, node_text(*n),
                             "must be a finite number or a list of finite numbers");
                    v.push_back(*x);
                }
                if (static_cast<int>(v.size()) != dim)
                    fail(section, key, node_text(*n),
                         detail::concat("must be one number or a list of ", dim,
                                        " numbers (one per dimension)"));
            } else if (auto x = n->value<double>(); x && std::isfinite(*x)) {
                v.assign(dim, *x);
            } else {
                fail(section, key, node_text(*n),
                     "must be a finite number or a list of finite numbers");
            }
        }
        toml::array out;
        for (double &x : v) {
            x = x == 0 ? 0.0 : x; // -0 reads as 0, in lists too
            out.push_back(x);
        }
        resolved_[section].insert_or_assign(key, out);
        return v;
    }

    /// [lo, hi] (broadcast) or [[lo, hi], ...] with one pair per dimension.
    std::vector<Range> ranges(const std::string &section, const std::string &key,
                              const std::vector<Range> &fallback, int dim) {
        used_[section].insert(key);
        std::vector<Range> v = fallback;
        const std::string rule = detail::concat("must be [lo, hi] or a list of ", dim,
                                                " pairs [[lo, hi], ...] with lo < hi and a finite"
                                                " width hi - lo");
        if (const toml::node *n = find(section, key)) {
            v.clear();
            const toml::array *a = n->as_array();
            if (!a)
                fail(section, key, node_text(*n), rule);
            auto pair = [&](const toml::node &e) {
                const toml::array *p = e.as_array();
                if (!p || p->size() != 2)
                    fail(section, key, node_text(*n), rule);
                auto lo = (*p)[0].value<double>(), hi = (*p)[1].value<double>();
                if (!lo || !hi || !std::isfinite(*lo) || !std::isfinite(*hi) || !(*lo < *hi) ||
                    !std::isfinite(*hi - *lo))
                    fail(section, key, node_text(*n), rule);
                return Range{*lo == 0 ? 0.0 : *lo, *hi == 0 ? 0.0 : *hi}; // -0 reads as 0
            };
            if (a->size() == 2 && !(*a)[0].is_array()) {
                v.assign(dim, pair(*n));
            } else {
                if (static_cast<int>(a->size()) != dim)
                    fail(section, key, node_text(*n), rule);
                for (const auto &e : *a)
                    v.push_back(pair(e));
            }
        }
        toml::array out;
        for (const Range &r : v)
            out.push_back(toml::array{r.lo, r.hi});
        resolved_[section].insert_or_assign(key, out);
        return v;
    }

    /// Errors for sections and keys nobody asked for.
    void reject_unknown(const std::map<std::string, std::vector<std::string>> &extra_allowed) {
        for (const auto &[name, node] : root_) {
            const std::string section(name.str());
            if (node.is_array_of_tables()) // [[ensemble]]
                throw Error(detail::concat(source_, ":", node.source().begin.line, ": [[", section,
                                           "]] is an array of tables: write [", section, "]"));
            if (!node.is_table()) {             // `walkers = 5` above every [section]
                std::vector<std::string> homes; // every section that reads such a key
                for (const auto &[s, keys] : used_)
                    if (keys.count(section))
                        homes.push_back("[" + s + "]");
                const std::string hint =
                    homes.empty() ? ""
                                  : ": put it under " + join(homes, " or ") +
                                        (homes.size() > 1 ? " (whichever it belongs to)" : "");
                throw Error(detail::concat(source_, ":", node.source().begin.line, ": key ",
                                           section, " is outside any [section]", hint));
            }
            if (!used_.count(section) && !extra_allowed.count(section)) {
                std::vector<std::string> known;
                for (const char *s : kSections)
                    known.push_back(std::string("[") + s + "]");
                throw Error(detail::concat(section_where(section), "unknown section [", section,
                                           "]; allowed sections: ", join(known)));
            }
            const toml::table *t = node.as_table();
            if (!t)
                throw Error(detail::concat(source_, ":", node.source().begin.line, ": ", section,
                                           " must be a [section] table"));
            for (const auto &[k, value] : *t) {
                const std::string key(k.str());
                if (used_[section].count(key))
                    continue;
                // A key of another mode of this section (a ball's radius with region "above"):
                // say which mode reads it.
                for (const ModeKeys &m : section_modes()) {
                    if (m.section != section)
                        continue;
                    std::string mode = m.default_mode;
                    if (const auto v = (*t)[m.mode_key].value<std::string>())
                        mode = m.section == "data" ? (v->empty() ? "synthetic" : "file") : *v;
                    std::vector<std::string> readers;
                    for (const auto &[other, keys] : m.keys)
                        if (other != mode && keys.count(key))
                            readers.push_back("\"" + other + "\"");
                    if (readers.empty())
                        continue;
                    const std::string applies =
                        section != "data" ? detail::concat(m.mode_key, " = ", join(readers, " or "),
                                                           " (", m.mode_key, " is \"", mode, "\")")
                        : mode == "synthetic" ? std::string("data from a [data] file")
                                              : std::string("synthetic data (no [data] file)");
                    throw Error(detail::concat(where(section, key), "[", section, "] ", key,
                                               " only applies to ", applies));
                }
                std::vector<std::string> allowed(used_[section].begin(), used_[section].end());
                throw Error(detail::concat(where(section, key), "unknown key [", section, "] ", key,
                                           "; allowed keys: ", join(allowed)));
            }
        }
    }

    std::string resolved_toml() const {
        toml::table out;
        for (const auto &[section, t] : resolved_)
            out.insert_or_assign(section, t);
        std::ostringstream s;
        s << toml::toml_formatter{out};
        return s.str();
    }

    bool has_section(const std::string &section) const {
        return root_[section].as_table() != nullptr;
    }

    /// Where a section comes from: its line in the file, or the --set that made it.
    std::string section_where(const std::string &section) const {
        const toml::node *n = root_.get(section);
        if (n && n->source().begin.line > 0)
            return detail::concat(source_, ":", n->source().begin.line, ": ");
        for (const std::string &full : overridden_)
            if (full.rfind(section + ".", 0) == 0)
                return "--set " + full + ": ";
        return source_ + ": ";
    }

    std::string text(const std::string &section, const std::string &key,
                     const std::string &fallback) {
        used_[section].insert(key);
        std::string v = fallback;
        if (const toml::node *n = find(section, key)) {
            if (auto str = n->value_exact<std::string>())
                v = *str;
            else
                fail(section, key, node_text(*n), "must be a string");
        }
        resolved_[section].insert_or_assign(key, v);
        return v;
    }

    std::string resolved_json() const {
        toml::table out;
        for (const auto &[section, t] : resolved_)
            out.insert_or_assign(section, t);
        std::ostringstream s;
        s << toml::json_formatter{out};
        return s.str();
    }

    void mark_used(const std::string &section, const std::string &key) {
        used_[section].insert(key);
    }
    void set_resolved(const std::string &section, const std::string &key, const toml::node &v) {
        v.visit([&](const auto &x) { resolved_[section].insert_or_assign(key, x); });
    }

private:
    static std::string quoted(const std::vector<std::string> &items) {
        std::vector<std::string> q;
        for (const auto &s : items)
            q.push_back("\"" + s + "\"");
        return join(q);
    }

    toml::table root_;
    std::string source_;
    std::set<std::string> overridden_;
    std::map<std::string, std::set<std::string>> used_;
    std::map<std::string, toml::table> resolved_;
};

bool non_negative(double x) {
    return x >= 0;
}

/// `section.key=value` with the spaces round section, key and value taken off.
std::string normalised_assignment(const std::string &assignment) {
    const auto eq = assignment.find('=');
    const auto dot = assignment.find('.');
    LGV_REQUIRE(eq != std::string::npos && dot != std::string::npos && dot < eq, "--set ",
                assignment, ": expected section.key=value, e.g. integrator.dt=1e-3");
    const auto trim = [](const std::string &t) {
        const auto a = t.find_first_not_of(" \t"), b = t.find_last_not_of(" \t");
        return a == std::string::npos ? std::string() : t.substr(a, b - a + 1);
    };
    return trim(assignment.substr(0, dot)) + "." + trim(assignment.substr(dot + 1, eq - dot - 1)) +
           "=" + trim(assignment.substr(eq + 1));
}

/// Applies `section.key=value`; the value is TOML ("1e-3", "[0, 1]", "\"baoab\"") or a bare word.
void apply_override(toml::table &root, const std::string &assignment) {
    const auto eq = assignment.find('=');
    const auto dot = assignment.find('.');
    const std::string section = assignment.substr(0, dot);
    const std::string key = assignment.substr(dot + 1, eq - dot - 1);
    const std::string value = assignment.substr(eq + 1);
    LGV_REQUIRE(!section.empty() && !key.empty() && key.find('.') == std::string::npos, "--set ",
                assignment, ": expected section.key=value");
    toml::table parsed;
    try {
        parsed = toml::parse("v = " + value);
    } catch (const toml::parse_error &e) {
        // A bare word is a string; what starts like an array, table or quoted string is not.
        LGV_REQUIRE(value.empty() || std::string("[{\"'").find(value[0]) == std::string::npos,
                    "--set ", assignment, ": ", value, " is not a valid TOML value (",
                    e.description(), ")");
        parsed = toml::table{{"v", value}};
    }
    if (!root.contains(section))
        root.insert(section, toml::table{});
    toml::table *t = root[section].as_table();
    LGV_REQUIRE(t, "--set ", assignment, ": ", section, " is not a section");
    t->insert_or_assign(key, *parsed.get("v"));
}

/// Switching a mode on the command line (`--set temperature.kind=...`, `integrator.kind`,
/// `potential.kind`, `ensemble.init`, `data.file`) drops the file's keys that only the other
/// modes read, so `--set temperature.kind=geometric` works on a file written for "logarithmic"
/// and `--set ensemble.init=uniform` on one with an init_point. Keys the new mode also reads
/// stay (dt from euler_maruyama to baoab), as does every key given with --set. Likewise
/// `run.samples` replaces the file's `sample_every` (and the reverse), and a new potential drops
/// the [data] keys it does not read.
void drop_keys_of_the_old_mode(toml::table &root, const std::set<std::string> &overridden) {
    const std::vector<ModeKeys> modes = section_modes();
    // [run] samples and sample_every exclude each other: the one given with --set wins (and
    // sample_every drops the samples' spacing, which only samples read).
    if (toml::table *run = root["run"].as_table())
        for (const auto &[given, others] :
             {std::pair{"samples", std::vector<std::string>{"sample_every"}},
              std::pair{"sample_every", std::vector<std::string>{"samples", "spacing"}}})
            if (overridden.count(std::string("run.") + given))
                for (const std::string &other : others)
                    if (!overridden.count("run." + other))
                        run->erase(other);
    // A new potential keeps only the [data] keys its synthetic data read; one that is not
    // data-defined drops [data] (unless a --set gave some of it).
    toml::table *data = root["data"].as_table();
    const auto potential = root["potential"]["kind"].value<std::string>();
    if (data && potential && overridden.count("potential.kind")) {
        bool data_defined = false;
        for_each_alternative<Potential>([&](auto alt) {
            using P = decltype(alt);
            data_defined |= *potential == P::name && is_data_defined<P>;
        });
        const std::vector<std::string> keep = synthetic_keys(*potential);
        bool set_here = false;
        for (const std::string &key : overridden)
            set_here |= key.rfind("data.", 0) == 0;
        if (!data_defined && !set_here)
            root.erase("data");
        else if (data_defined)
            for (const char *key : kSyntheticDataKeys)
                if (std::find(keep.begin(), keep.end(), key) == keep.end() &&
                    !overridden.count(std::string("data.") + key))
                    data->erase(key);
    }
    for (const ModeKeys &m : modes) {
        toml::table *t = root[m.section].as_table();
        if (!t || !overridden.count(m.section + "." + m.mode_key))
            continue;
        const auto value = (*t)[m.mode_key].value<std::string>();
        if (!value)
            continue; // a wrong type: the reader names it
        const std::string mode =
            m.section == "data" ? (value->empty() ? "synthetic" : "file") : *value;
        const auto keep = m.keys.find(mode);
        if (keep == m.keys.end())
            continue; // an unknown mode: the reader lists the allowed ones
        for (const auto &[other, keys] : m.keys)
            for (const std::string &key : keys)
                if (!keep->second.count(key) && !overridden.count(m.section + "." + key))
                    t->erase(key);
    }
}

template <class Variant> std::vector<std::string> registry_names() {
    std::vector<std::string> names;
    for_each_alternative<Variant>([&](auto alt) { names.push_back(decltype(alt)::name); });
    return names;
}

/// Builds the chosen registry entry by name: f(Alternative{}) returns its value.
template <class Variant, class F> Variant make_by_name(const std::string &name, F &&f) {
    std::optional<Variant> out;
    for_each_alternative<Variant>([&](auto alt) {
        if (!out && name == decltype(alt)::name)
            out.emplace(f(alt));
    });
    return *out;
}

/// Rethrows a potential's or integrator's own validation error with the key's location.
template <class F> auto located(const Reader &r, const std::string &section, F &&f) {
    try {
        return f();
    } catch (const Error &e) {
        // Messages start with "[section] key ..." (see potential.hpp, integrator.hpp).
        std::string msg = e.what();
        std::string key;
        const std::string prefix = "[" + section + "] ";
        if (msg.rfind(prefix, 0) == 0) {
            key = msg.substr(prefix.size());
            key = key.substr(0, key.find_first_of(" :"));
        }
        throw Error(r.where(section, key) + msg);
    }
}

Study build_study(Reader &r, const std::string &source) {
    Study s;
    s.source = source;

    // [potential] first: it fixes the dimension everything else is sized by.
    const std::string kind =
        r.choice("potential", "kind", "double_well", registry_names<Potential>());
    int fixed_dim = 0;
    std::vector<ParamSpec> specs;
    for_each_alternative<Potential>([&](auto alt) {
        using P = decltype(alt);
        if (kind == P::name) {
            fixed_dim = P::fixed_dim;
            specs = P::params();
        }
    });
    int dim = fixed_dim;
    if (fixed_dim == 0) {
        // Any size is checked against the compiled list, so every dim gets the rebuild hint.
        dim = static_cast<int>(r.integer("potential", "dim", 1, 1, 1 << 20));
        if (!dim_compiled(dim, CompiledDims{}))
            r.fail("potential", "dim", std::to_string(dim),
                   "not compiled in; compiled dimensions: " + dim_list_text(CompiledDims{}) +
                       " (rebuild with -DLANGEVIN_DIMS=\"...;" + std::to_string(dim) + "\")");
    } else if (r.has("potential", "dim")) {
        const std::string rule = kind + " is " + std::to_string(fixed_dim) + "-D: dim must be " +
                                 std::to_string(fixed_dim) + " (or left out)";
        const toml::node &given = *r.find("potential", "dim");
        if (given.value<double>() != std::optional<double>(fixed_dim))
            r.fail("potential", "dim", node_text(given), rule); // 3, 1.5 or "two" alike
        r.integer("potential", "dim", fixed_dim, fixed_dim, fixed_dim);
    }
    ParamValues values;
    for (const ParamSpec &p : specs) {
        if (p.per_dim)
            values[p.name] =
                r.per_dim("potential", p.name, std::vector<double>(dim, p.default_value), dim);
        else
            values[p.name] = {r.number("potential", p.name, p.default_value)};
    }
    s.model.potential = located(r, "potential", [&] {
        return make_by_name<Potential>(
            kind, [&](auto alt) { return Potential{decltype(alt)::make(values, dim)}; });
    });

    // [integrator]
    const std::string ikind =
        r.choice("integrator", "kind", "euler_maruyama", registry_names<Integrator>());
    IntegratorValues ivalues;
    // SGD keys of the other learning-rate schedules: refused, and neither read nor written to
    // the resolved study (which resume and merge read back).
    std::set<std::string> not_this_schedule;
    if (ikind == Sgd::name) {
        const std::string lr = r.choice("integrator", "lr_schedule", "constant",
                                        {"constant", "geometric", "logarithmic"});
        ivalues["lr_schedule"] = lr == "constant"    ? Sgd::constant
                                 : lr == "geometric" ? Sgd::geometric
                                                     : Sgd::logarithmic;
        const std::map<std::string, std::string> only = {
            {"lr_final", "geometric"}, {"lr_steps", "geometric"}, {"lr_n0", "logarithmic"}};
        for (const auto &[key, needs] : only) {
            if (needs == lr)
                continue;
            if (r.has("integrator", key))
                r.fail("integrator", key, node_text(*r.find("integrator", key)),
                       "only applies to lr_schedule = \"" + needs + "\" (it is \"" + lr + "\")");
            not_this_schedule.insert(key);
        }
    }
    for_each_alternative<Integrator>([&](auto alt) {
        using I = decltype(alt);
        if (ikind == I::name)
            for (const auto &p : I::params())
                ivalues[p.name] =
                    not_this_schedule.count(p.name) ? p.default_value
                    : p.integer                     ? double(r.integer("integrator", p.name,
                                                                       std::int64_t(p.default_value), p.integer_min))
                                : r.number("integrator", p.name, p.default_value);
    });
    if (r.has("integrator", "mass") && !ivalues.count("mass"))
        r.fail("integrator", "mass", node_text(*r.find("integrator", "mass")),
               "applies only to underdamped integrators (baoab); " + ikind +
                   " is overdamped and has no mass");
    s.model.integrator = located(r, "integrator", [&] {
        return make_by_name<Integrator>(
            ikind, [&](auto alt) { return Integrator{decltype(alt)::make(ivalues)}; });
    });

    // [data]: the data set of a data-defined loss (SGD studies).
    const bool data_loss =
        std::visit([](const auto &p) { return is_data_defined<std::decay_t<decltype(p)>>; },
                   s.model.potential);
    if (!data_loss && r.has_section("data"))
        throw Error(
            detail::concat(r.section_where("data"),
                           "[data] applies only to data-defined potentials (linear_regression, "
                           "logistic_regression, sine_fit); [potential] kind is \"",
                           kind, "\""));
    if (data_loss) {
        const std::string file = r.text("data", "file", ""); // "": synthetic (--set switches)
        const SyntheticSpec defaults = synthetic_defaults(kind);
        if (!file.empty()) {
            for (const char *key : kSyntheticDataKeys)
                if (r.has("data", key))
                    r.fail("data", key, node_text(*r.find("data", key)),
                           "only applies to synthetic data (no [data] file)");
            const std::string xs = r.text("data", "x_dataset", "x");
            const std::string ys = r.text("data", "y_dataset", "y");
            try {
                s.model.data = load_dataset(file, xs, ys);
            } catch (const Error &e) { // where the file was named: its line, or the --set
                throw Error(r.where("data", "file") + e.what());
            }
        } else {
            SyntheticSpec spec = defaults;
            spec.n = std::uint64_t(
                r.integer("data", "n", std::int64_t(defaults.n), 1, std::int64_t(1) << 32));
            // Made here, as x and y in double: it must fit in half of this machine's memory.
            const double memory = physical_memory_bytes();
            if (memory > 0 && 16.0 * double(spec.n) > memory / 2)
                r.fail("data", "n", std::to_string(spec.n),
                       detail::concat(
                           "needs ", detail::number_text(std::round(16.0 * spec.n / 1e7) / 100),
                           " GB for x and y; this machine has ",
                           detail::number_text(std::round(memory / 1e7) / 100), " GB of memory"));
            spec.seed = std::uint64_t(r.integer("data", "seed", std::int64_t(defaults.seed), 0));
            auto finite = [](double x) { return std::isfinite(x); };
            spec.w_true = r.number("data", "w_true", defaults.w_true, "must be finite", finite);
            const std::vector<std::string> keys = synthetic_keys(kind);
            auto reads = [&](const char *key) {
                return std::find(keys.begin(), keys.end(), key) != keys.end();
            };
            if (reads("b_true"))
                spec.b_true = r.number("data", "b_true", defaults.b_true, "must be finite", finite);
            if (reads("noise"))
                spec.noise = r.number("data", "noise", defaults.noise, "must be >= 0",
                                      [](double x) { return x >= 0 && std::isfinite(x); });
            if (reads("x_max"))
                spec.x_max = r.number("data", "x_max", defaults.x_max, "must be > 0",
                                      [](double x) { return x > 0 && std::isfinite(x); });
            s.model.data = synthetic_dataset(spec);
        }
        if (kind == LogisticRegression::name)
            for (std::size_t i = 0; i < s.model.data->y.size(); ++i)
                if (s.model.data->y[i] != 1.0 && s.model.data->y[i] != -1.0)
                    throw Error(detail::concat(
                        r.where("data", "file"), "[data] ", s.model.data->source,
                        ": logistic_regression needs labels y = -1 or +1; pair ", i,
                        " has y = ", s.model.data->y[i], " (0/1 labels: write 0 as -1)"));
        std::visit(
            [&](auto &p) {
                if constexpr (is_data_defined<std::decay_t<decltype(p)>>)
                    p.attach(s.model.data->view());
            },
            s.model.potential);
    }
    if (auto *sgd = std::get_if<Sgd>(&s.model.integrator)) {
        if (!data_loss)
            r.fail("integrator", "kind", "\"sgd\"",
                   "needs a data-defined loss: [potential] kind = linear_regression, "
                   "logistic_regression or sine_fit ([potential] kind is \"" +
                       kind + "\")");
        const std::uint64_t n = s.model.data->x.size();
        if (sgd->batch > n)
            r.fail("integrator", "batch", std::to_string(sgd->batch),
                   detail::concat("must be at most the data set's n = ", n,
                                  " (batch = n is full-batch gradient descent)"));
    }

    // [ensemble]
    s.walkers = r.integer("ensemble", "walkers", 100000, 1);
    s.model.seed = r.integer("ensemble", "seed", 1, 0);
    s.model.precision =
        r.choice("ensemble", "precision", "float32", {"float32", "float64"}) == "float32"
            ? Precision::float32
            : Precision::float64;
    s.chunk = r.integer("ensemble", "chunk", 0, 0);

    // [histogram] before the initial box, whose default is the grid.
    std::vector<Range> default_ranges;
    std::visit(
        [&](const auto &p) {
            for (int d = 0; d < dim; ++d)
                default_ranges.push_back(p.default_range(d));
        },
        s.model.potential);
    s.grid.dim = dim;
    std::vector<double> bins = r.per_dim("histogram", "bins", std::vector<double>(dim, 100), dim);
    std::vector<Range> ranges = r.ranges("histogram", "range", default_ranges, dim);
    for (int d = 0; d < dim; ++d) {
        if (!(bins[d] >= 1 && bins[d] <= 1e6 && bins[d] == std::floor(bins[d])))
            r.fail("histogram", "bins", detail::concat(bins[d]),
                   "must be an integer in [1, 1000000] (or one per dimension)");
        s.grid.axes[d] = Axis{ranges[d].lo, ranges[d].hi, static_cast<int>(bins[d])};
    }
    toml::array bins_resolved;
    for (int d = 0; d < dim; ++d)
        bins_resolved.push_back(std::int64_t(s.grid.axes[d].bins));
    r.set_resolved("histogram", "bins", bins_resolved);
    s.grid.joint = r.boolean("histogram", "joint", dim == 2);
    if (s.grid.joint && dim != 2)
        r.fail("histogram", "joint", "true", "the joint histogram needs [potential] dim = 2");
    if (s.grid.joint && double(s.grid.axes[0].bins) * s.grid.axes[1].bins > 4e6)
        r.fail("histogram", "bins", detail::concat(bins[0], " x ", bins[1]),
               "the joint 2-D histogram allows at most 4e6 bins");

    const std::string init =
        r.choice("ensemble", "init", "point", {"point", "uniform", "gaussian"});
    std::vector<double> lows, highs;
    for (const Range &g : ranges) {
        lows.push_back(g.lo);
        highs.push_back(g.hi);
    }
    const bool point_used = init != "uniform";
    const bool box_used = init == "uniform";
    const bool sigma_used = init == "gaussian";
    auto check_unused = [&](const char *key, bool used, const char *needs) {
        if (!used && r.has("ensemble", key))
            r.fail("ensemble", key, node_text(*r.find("ensemble", key)),
                   std::string("only used with init = \"") + needs + "\" (init is \"" + init +
                       "\")");
    };
    check_unused("init_point", point_used, "point\" or \"gaussian");
    check_unused("init_low", box_used, "uniform");
    check_unused("init_high", box_used, "uniform");
    check_unused("init_sigma", sigma_used, "gaussian");
    if (point_used) {
        const auto p = r.per_dim("ensemble", "init_point", std::vector<double>(dim, 0.0), dim);
        std::copy(p.begin(), p.end(), s.init.point);
    }
    if (box_used) {
        const auto lo = r.per_dim("ensemble", "init_low", lows, dim);
        const auto hi = r.per_dim("ensemble", "init_high", highs, dim);
        for (int d = 0; d < dim; ++d)
            if (!(lo[d] < hi[d]))
                r.fail("ensemble", "init_high", detail::concat(hi[d]),
                       detail::concat("must exceed init_low (", lo[d], ") in every dimension"));
        std::copy(lo.begin(), lo.end(), s.init.low);
        std::copy(hi.begin(), hi.end(), s.init.high);
    }
    if (sigma_used) {
        const auto sg = r.per_dim("ensemble", "init_sigma", std::vector<double>(dim, 1.0), dim);
        for (int d = 0; d < dim; ++d)
            if (!(sg[d] > 0))
                r.fail("ensemble", "init_sigma", detail::concat(sg[d]), "must be > 0");
        std::copy(sg.begin(), sg.end(), s.init.sigma);
    }
    s.init.kind = init == "point"     ? InitSpec::Kind::point
                  : init == "uniform" ? InitSpec::Kind::uniform
                                      : InitSpec::Kind::gaussian;

    // [run] first: schedules default to spanning the whole run.
    s.steps = r.integer("run", "steps", 1000, 0);
    const bool has_every = r.has("run", "sample_every"), has_count = r.has("run", "samples");
    if (has_every && has_count)
        r.fail("run", "samples", node_text(*r.find("run", "samples")),
               "give either sample_every or samples, not both");
    const std::string spacing = r.choice("run", "spacing", "linear", {"linear", "log"});
    // The other key is known too (both given is refused above): unknown-key errors list both.
    r.mark_used("run", has_count ? "sample_every" : "samples");
    if (has_count) {
        const auto count = r.integer("run", "samples", 10, 1, 100000);
        s.samples = sample_steps_count(s.steps, count, spacing == "log");
    } else {
        if (spacing == "log")
            r.fail("run", "spacing", "\"log\"", "needs samples = K (log-spaced sample steps)");
        const auto every = r.integer("run", "sample_every", std::max<std::int64_t>(1, s.steps), 1);
        // As many samples as `samples` allows; the list of their steps is made right here.
        const std::int64_t count = s.steps / every + (s.steps % every != 0);
        if (count > 100000)
            r.fail("run", "sample_every", std::to_string(every),
                   detail::concat("gives ", count, " samples over ", s.steps,
                                  " steps; at most 100000 (as for samples): take a larger one"));
        s.samples = sample_steps_linear(s.steps, every);
    }
    if (s.steps == 0)
        s.samples = {0};
    if (auto *sgd = std::get_if<Sgd>(&s.model.integrator))
        if (sgd->lr_schedule == Sgd::geometric && sgd->lr_steps == 0)
            sgd->lr_steps = s.steps;

    // [temperature]
    const std::string tkind =
        r.choice("temperature", "kind", "constant",
                 {"constant", "linear", "geometric", "logarithmic", "piecewise"});
    const std::map<std::string, std::vector<std::string>> schedule_keys = {
        {"constant", {"T"}},
        {"linear", {"T0", "T1", "steps"}},
        {"geometric", {"T0", "T1", "steps", "rate"}},
        {"logarithmic", {"c", "n0"}},
        {"piecewise", {"knots"}}};
    const auto &mine = schedule_keys.at(tkind);
    for (const auto &[kind, keys] : schedule_keys)
        for (const std::string &key : keys) {
            if (kind == tkind || !r.has("temperature", key) ||
                std::find(mine.begin(), mine.end(), key) != mine.end())
                continue;
            std::vector<std::string> users; // every kind that reads the key
            for (const auto &[other, its] : schedule_keys)
                if (std::find(its.begin(), its.end(), key) != its.end())
                    users.push_back("\"" + other + "\"");
            r.fail("temperature", key, node_text(*r.find("temperature", key)),
                   "only applies to kind = " + join(users, " or ") + " (kind is \"" + tkind +
                       "\")");
        }
    Schedule &sch = s.schedule;
    auto temperature = [&](const char *key, double fallback) {
        return r.number("temperature", key, fallback, "must be a temperature >= 0", non_negative);
    };
    if (tkind == "constant") {
        sch.kind = Schedule::Kind::constant;
        // SGD: T is the explicit Langevin noise (SGLD); plain SGD has none.
        sch.T = temperature("T", std::holds_alternative<Sgd>(s.model.integrator) ? 0.0 : 1.0);
    } else if (tkind == "linear" || tkind == "geometric") {
        sch.kind = tkind == "linear" ? Schedule::Kind::linear : Schedule::Kind::geometric;
        sch.T0 = temperature("T0", 1.0);
        sch.span = r.integer("temperature", "steps", std::int64_t(s.steps), 0);
        if (tkind == "geometric" && r.has("temperature", "rate")) {
            if (r.has("temperature", "T1"))
                r.fail("temperature", "rate", node_text(*r.find("temperature", "rate")),
                       "give either T1 or rate, not both");
            sch.rate = r.number("temperature", "rate", 0.999, "must be in (0, 1]",
                                [](double x) { return x > 0 && x <= 1; });
        } else {
            sch.T1 = temperature("T1", 0.1);
        }
        if (tkind == "geometric" && (!(sch.T0 > 0) || (sch.rate == 0 && !(sch.T1 > 0))))
            r.fail("temperature", sch.T0 > 0 ? "T1" : "T0",
                   detail::concat(sch.T0 > 0 ? sch.T1 : sch.T0),
                   "a geometric schedule needs T0 > 0 and T1 > 0");
    } else if (tkind == "logarithmic") {
        sch.kind = Schedule::Kind::logarithmic;
        sch.c = r.number("temperature", "c", 1.0, "must be > 0 (T = c / ln(n + n0))",
                         [](double x) { return x > 0; });
        sch.n0 = r.number("temperature", "n0", 2.0, "must be > 1 (T_0 = c / ln(n0) must be finite)",
                          [](double x) { return x > 1; });
    } else {
        sch.kind = Schedule::Kind::piecewise;
        r.mark_used("temperature", "knots");
        const toml::node *n = r.find("temperature", "knots");
        const std::string rule =
            "must be a list of [step, T] pairs with increasing steps and T >= 0";
        if (!n || !n->as_array() || n->as_array()->empty())
            r.fail("temperature", "knots", n ? node_text(*n) : "(missing)", rule);
        for (const auto &e : *n->as_array()) {
            const toml::array *p = e.as_array();
            if (!p || p->size() != 2)
                r.fail("temperature", "knots", node_text(*n), rule);
            // A step is an integer, or a whole double below 2^63 (1e6 is fine).
            std::optional<std::uint64_t> step;
            if (const auto i = (*p)[0].value_exact<std::int64_t>(); i && *i >= 0)
                step = std::uint64_t(*i);
            else if (const auto d = (*p)[0].value_exact<double>();
                     d && *d >= 0 && *d == std::floor(*d) && *d < 0x1p63)
                step = std::uint64_t(*d);
            const auto T = (*p)[1].value<double>();
            if (!step)
                r.fail("temperature", "knots", node_text(*n),
                       detail::concat(rule, " (step ", node_text((*p)[0]),
                                      " is not a whole number in [0, 2^63))"));
            if (!T || !(*T >= 0) || !std::isfinite(*T))
                r.fail("temperature", "knots", node_text(*n),
                       detail::concat(rule, " (T = ", node_text((*p)[1]), " at step ", *step,
                                      " is not a finite number >= 0)"));
            if (!sch.knots.empty() && *step <= sch.knots.back().first)
                r.fail("temperature", "knots", node_text(*n),
                       detail::concat(rule, " (step ", *step, " does not increase)"));
            sch.knots.emplace_back(*step, *T == 0 ? 0.0 : *T); // -0 reads as 0
        }
        toml::array resolved;
        for (const auto &[step, T] : sch.knots)
            resolved.push_back(toml::array{std::int64_t(step), T});
        r.set_resolved("temperature", "knots", resolved);
    }
    std::visit(
        [&](const auto &i) {
            if constexpr (std::decay_t<decltype(i)>::underdamped)
                s.init.velocity_sigma = std::sqrt(sch.at(0) / i.mass);
        },
        s.model.integrator);

    // [first_passage]: a target region; absent section, no target.
    if (r.has_section("first_passage")) {
        Target &t = s.model.target;
        const std::string region =
            r.choice("first_passage", "region", "above", {"above", "below", "ball"});
        if (region == "ball") {
            t.kind = Target::Kind::ball;
            const auto c = r.per_dim("first_passage", "centre", std::vector<double>(dim, 0.0), dim);
            std::copy(c.begin(), c.end(), t.centre);
            t.radius = r.number("first_passage", "radius", 0.5, "must be > 0",
                                [](double x) { return x > 0; });
        } else {
            t.kind = region == "above" ? Target::Kind::above : Target::Kind::below;
            t.coordinate =
                static_cast<int>(r.integer("first_passage", "coordinate", 0, 0, dim - 1));
            t.value = r.number("first_passage", "level", 0.0);
        }
        s.passage_bins = static_cast<int>(r.integer("first_passage", "bins", 100, 1, 1000000));
    }

    // [output]
    s.output = r.text("output", "file", "");
    s.trajectories = r.integer("output", "trajectories", 0, 0, 1000000);
    if (s.trajectories > s.walkers)
        r.fail("output", "trajectories", std::to_string(s.trajectories),
               detail::concat("records walkers 0..k-1: at most [ensemble] walkers = ", s.walkers));
    s.trajectory_every =
        r.integer("output", "trajectory_every", std::max<std::int64_t>(1, s.steps / 1000), 1);
    s.checkpoint_every = r.integer("output", "checkpoint_every", 0, 0);
    s.stop_on_nonfinite = r.choice("output", "on_nonfinite", "stop", {"stop", "drop"}) == "stop";

    // [backend]
    s.backend = r.choice("backend", "kind", "auto", {"auto", "cpu", "cuda"});
    s.options.threads = static_cast<int>(r.integer("backend", "threads", 0, 0, 4096));
    s.options.block_size = static_cast<int>(r.integer("backend", "block_size", 0, 0, 1024));
    s.options.device = static_cast<int>(r.integer("backend", "device", 0, 0, 1024));
    if (s.options.block_size % 32 != 0)
        r.fail("backend", "block_size", std::to_string(s.options.block_size),
               "must be 0 (default) or a multiple of 32 up to 1024");

    r.reject_unknown({});
    s.sgd = located(r, "integrator", [&] {
        return sgd_theory(s.model, s.grid, s.schedule.is_constant() ? s.schedule.T : std::nan(""));
    });
    s.resolved_json = r.resolved_json();
    s.resolved_toml = r.resolved_toml();
    return s;
}

} // namespace

Study parse_study(const std::string &text, const std::string &source,
                  const std::vector<std::string> &overrides) {
    toml::table root;
    try {
        root = toml::parse(text, source);
    } catch (const toml::parse_error &e) {
        throw Error(detail::concat(source, ":", e.source().begin.line,
                                   ": invalid TOML: ", e.description()));
    }
    std::set<std::string> overridden;
    for (const std::string &given : overrides) {
        const std::string o = normalised_assignment(given);
        apply_override(root, o);
        overridden.insert(o.substr(0, o.find('=')));
    }
    drop_keys_of_the_old_mode(root, overridden);
    Reader reader(std::move(root), source, overridden);
    return build_study(reader, source);
}

double physical_memory_bytes() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? double(pages) * double(page) : 0.0;
}

std::string unreadable_input(const std::string &path) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status))
        return ec && ec != std::errc::no_such_file_or_directory ? ec.message() : "no such file";
    if (std::filesystem::is_directory(status))
        return "is a folder, not a file";
    return "";
}

Study load_study(const std::string &path, const std::vector<std::string> &overrides) {
    const std::string why = unreadable_input(path);
    LGV_REQUIRE(why.empty(), path, ": cannot open the study file: ", why);
    std::ifstream in(path);
    LGV_REQUIRE(in, path, ": cannot open the study file");
    // Read at most kMaxStudyBytes + 1: a device such as /dev/zero must not fill the memory.
    constexpr std::size_t kMaxStudyBytes = std::size_t(1) << 24;
    std::string text(kMaxStudyBytes + 1, '\0');
    in.read(text.data(), std::streamsize(text.size()));
    text.resize(std::size_t(in.gcount()));
    LGV_REQUIRE(text.size() <= kMaxStudyBytes, path, ": more than 16 MiB: not a study file");
    return parse_study(text, path, overrides);
}

} // namespace langevin
