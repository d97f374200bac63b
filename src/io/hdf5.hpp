// A small RAII layer over the HDF5 C API: files, groups, whole-array datasets, attributes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <hdf5.h>

namespace langevin::h5 {

/// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
public:
    Handle() = default;
    Handle(hid_t id, herr_t (*close)(hid_t), const std::string &what);
    Handle(Handle &&other) noexcept;
    Handle &operator=(Handle &&other) noexcept;
    Handle(const Handle &) = delete;
    Handle &operator=(const Handle &) = delete;
    ~Handle();
    hid_t id() const { return id_; }
    /// Closes now and says whether that worked; the handle is empty afterwards either way.
    bool close();

private:
    hid_t id_ = -1;
    herr_t (*close_)(hid_t) = nullptr;
};

/// A dataset's kind: an integer or float type (not enum, bool, string or compound), and rank.
struct DatasetShape {
    bool is_dataset = false, numeric = false;
    int rank = 0;
};

class Group {
public:
    explicit Group(Handle h) : h_(std::move(h)) {}
    hid_t id() const { return h_.id(); }
    Group group(const std::string &name) const; ///< creates (or opens) a child group
    Group open(const std::string &name) const;  ///< opens an existing child group
    bool has(const std::string &name) const;
    bool has_attr(const std::string &name) const;

    void write(const std::string &name, const std::vector<double> &data,
               std::vector<hsize_t> dims = {}) const;
    void write(const std::string &name, const std::vector<std::uint64_t> &data,
               std::vector<hsize_t> dims = {}) const;
    void write(const std::string &name, const std::vector<std::int64_t> &data,
               std::vector<hsize_t> dims = {}) const;
    /// What the object `name` is: a dataset or not, its rank, whether it holds numbers.
    DatasetShape dataset_shape(const std::string &name) const;
    std::vector<double> read_doubles(const std::string &name) const;
    std::vector<std::uint64_t> read_u64(const std::string &name) const;
    std::vector<std::int64_t> read_i64(const std::string &name) const;

    void attr(const std::string &name, const std::string &value) const;
    void attr(const std::string &name, double value) const;
    void attr(const std::string &name, std::uint64_t value) const;
    void attr(const std::string &name, const std::vector<std::int32_t> &value) const;
    /// Numbers are scalar attributes; this one is int32 (H5MD's box dimension).
    void scalar_attr(const std::string &name, std::int32_t value) const;
    /// An array of fixed-length strings (H5MD's box boundary, one per dimension).
    void attr(const std::string &name, const std::vector<std::string> &value) const;
    std::string attr_string(const std::string &name) const;
    double attr_double(const std::string &name) const;
    std::uint64_t attr_u64(const std::string &name) const;

private:
    Handle h_;
};

class File {
public:
    static File create(const std::string &path); ///< truncates
    static File open(const std::string &path);   ///< read-only
    /// Writes out what HDF5 still caches, closes the file and syncs it to the disk; throws if any
    /// of that failed (a full disk shows only here, where the cached metadata is written).
    void close();
    Group root() const;
    const std::string &path() const { return path_; }

private:
    Handle h_;
    std::string path_;
};

} // namespace langevin::h5
