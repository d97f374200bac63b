// Studies from TOML (host only; toml++ stays in src/). See README "Configuration" for the keys.
#pragma once

#include <string>
#include <vector>

#include "langevin/study.hpp"

namespace langevin {

/// Parses a study file, applies `--set section.key=value` overrides, fills defaults and
/// validates. Errors name the key, the value, what is allowed, and the file's line.
Study load_study(const std::string &path, const std::vector<std::string> &overrides = {});

/// The same from TOML text; `source` names it in messages.
Study parse_study(const std::string &text, const std::string &source,
                  const std::vector<std::string> &overrides = {});

/// This machine's physical memory in bytes (0 when unknown).
double physical_memory_bytes();

/// Why `path` cannot be read as an input file ("no such file", "is a folder"), or "" (a file, a
/// pipe such as <(...), a device).
std::string unreadable_input(const std::string &path);

} // namespace langevin
