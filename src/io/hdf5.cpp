// HDF5 RAII layer. Every failure throws langevin::Error naming the file object.
#include "io/hdf5.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

#include "langevin/error.hpp"

namespace langevin::h5 {

namespace {
/// Why the last HDF5 call failed, where the operating system said (" (No space left on device)"
/// from the file driver's "errno = 28, error message = '...'"), or nothing.
std::string reason() {
    std::string why;
    const auto visit = [](unsigned, const H5E_error2_t *e, void *out) -> herr_t {
        const std::string desc = e->desc ? e->desc : "";
        const std::string key = "error message = '";
        const std::size_t at = desc.find(key);
        if (at != std::string::npos) {
            const std::size_t from = at + key.size();
            *static_cast<std::string *>(out) = desc.substr(from, desc.find('\'', from) - from);
            return 1; // the innermost one says it
        }
        return 0;
    };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, visit, &why);
    return why.empty() ? why : " (" + why + ")";
}
} // namespace

Handle::Handle(hid_t id, herr_t (*close)(hid_t), const std::string &what) : id_(id), close_(close) {
    LGV_REQUIRE(id >= 0, "HDF5: ", what, " failed", reason());
}
Handle::Handle(Handle &&other) noexcept : id_(other.id_), close_(other.close_) {
    other.id_ = -1;
}
Handle &Handle::operator=(Handle &&other) noexcept {
    if (this != &other) {
        if (id_ >= 0 && close_)
            close_(id_);
        id_ = other.id_;
        close_ = other.close_;
        other.id_ = -1;
    }
    return *this;
}
Handle::~Handle() {
    if (id_ >= 0 && close_)
        close_(id_);
}
bool Handle::close() {
    const bool ok = id_ < 0 || !close_ || close_(id_) >= 0;
    id_ = -1; // a failed close is not retried (HDF5 may have released part of the object)
    return ok;
}

namespace {

template <class T> hid_t native();
template <> hid_t native<double>() {
    return H5T_NATIVE_DOUBLE;
}
template <> hid_t native<std::uint64_t>() {
    return H5T_NATIVE_UINT64;
}
template <> hid_t native<std::int64_t>() {
    return H5T_NATIVE_INT64;
}
template <> hid_t native<std::int32_t>() {
    return H5T_NATIVE_INT32;
}

template <class T>
void write_dataset(hid_t parent, const std::string &name, const std::vector<T> &data,
                   std::vector<hsize_t> dims) {
    if (dims.empty())
        dims = {hsize_t(data.size())};
    hsize_t total = 1;
    for (hsize_t d : dims)
        total *= d;
    LGV_REQUIRE(total == data.size(), "HDF5: dataset ", name, " has ", data.size(),
                " values for its shape");
    Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose,
                 "dataspace of " + name);
    Handle set(H5Dcreate2(parent, name.c_str(), native<T>(), space.id(), H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT),
               H5Dclose, "creating dataset " + name);
    if (!data.empty())
        LGV_REQUIRE(H5Dwrite(set.id(), native<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >=
                        0,
                    "HDF5: writing dataset ", name, " failed", reason());
}

template <class T> std::vector<T> read_dataset(hid_t parent, const std::string &name) {
    Handle set(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose, "opening dataset " + name);
    Handle space(H5Dget_space(set.id()), H5Sclose, "dataspace of " + name);
    const hssize_t n = H5Sget_simple_extent_npoints(space.id());
    std::vector<T> out(static_cast<std::size_t>(n));
    if (n > 0)
        LGV_REQUIRE(H5Dread(set.id(), native<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) >= 0,
                    "HDF5: reading dataset ", name, " failed", reason());
    return out;
}

template <class T> void write_attr(hid_t obj, const std::string &name, const std::vector<T> &v) {
    const hsize_t n = v.size();
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "dataspace of attribute " + name);
    Handle a(H5Acreate2(obj, name.c_str(), native<T>(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose, "creating attribute " + name);
    LGV_REQUIRE(H5Awrite(a.id(), native<T>(), v.data()) >= 0, "HDF5: writing attribute ", name,
                " failed", reason());
}

// One number is a scalar attribute (h5py reads it as a number, not a 1-element array).
template <class T> void write_scalar_attr(hid_t obj, const std::string &name, T value) {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
    Handle a(H5Acreate2(obj, name.c_str(), native<T>(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose, "creating attribute " + name);
    LGV_REQUIRE(H5Awrite(a.id(), native<T>(), &value) >= 0, "HDF5: writing attribute ", name,
                " failed", reason());
}

// Reads a scalar attribute, or the one element of a 1-element array (how files written before
// attributes were scalars hold a number, e.g. a checkpoint to resume).
template <class T> T read_attr(hid_t obj, const std::string &name) {
    Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, "opening attribute " + name);
    Handle space(H5Aget_space(a.id()), H5Sclose, "dataspace of attribute " + name);
    LGV_REQUIRE(H5Sget_simple_extent_npoints(space.id()) == 1, "HDF5: attribute ", name,
                " does not hold exactly one number");
    T v{};
    LGV_REQUIRE(H5Aread(a.id(), native<T>(), &v) >= 0, "HDF5: reading attribute ", name, " failed",
                reason());
    return v;
}

} // namespace

Group Group::group(const std::string &name) const {
    if (has(name))
        return open(name);
    return Group(Handle(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                        H5Gclose, "creating group " + name));
}
Group Group::open(const std::string &name) const {
    return Group(
        Handle(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), H5Gclose, "opening group " + name));
}
bool Group::has(const std::string &name) const {
    return H5Lexists(id(), name.c_str(), H5P_DEFAULT) > 0;
}
bool Group::has_attr(const std::string &name) const {
    return H5Aexists(id(), name.c_str()) > 0;
}

void Group::write(const std::string &name, const std::vector<double> &data,
                  std::vector<hsize_t> dims) const {
    write_dataset(id(), name, data, std::move(dims));
}
void Group::write(const std::string &name, const std::vector<std::uint64_t> &data,
                  std::vector<hsize_t> dims) const {
    write_dataset(id(), name, data, std::move(dims));
}
void Group::write(const std::string &name, const std::vector<std::int64_t> &data,
                  std::vector<hsize_t> dims) const {
    write_dataset(id(), name, data, std::move(dims));
}
DatasetShape Group::dataset_shape(const std::string &name) const {
    DatasetShape shape;
    {
        const hid_t object = H5Oopen(id(), name.c_str(), H5P_DEFAULT);
        if (object < 0)
            return shape;
        shape.is_dataset = H5Iget_type(object) == H5I_DATASET;
        H5Oclose(object);
    }
    if (!shape.is_dataset)
        return shape;
    Handle set(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose, "opening dataset " + name);
    Handle type(H5Dget_type(set.id()), H5Tclose, "type of " + name);
    const H5T_class_t kind = H5Tget_class(type.id());
    shape.numeric = kind == H5T_INTEGER || kind == H5T_FLOAT;
    Handle space(H5Dget_space(set.id()), H5Sclose, "dataspace of " + name);
    shape.rank = H5Sget_simple_extent_ndims(space.id());
    return shape;
}

std::vector<double> Group::read_doubles(const std::string &name) const {
    return read_dataset<double>(id(), name);
}
std::vector<std::uint64_t> Group::read_u64(const std::string &name) const {
    return read_dataset<std::uint64_t>(id(), name);
}
std::vector<std::int64_t> Group::read_i64(const std::string &name) const {
    return read_dataset<std::int64_t>(id(), name);
}

void Group::attr(const std::string &name, const std::string &value) const {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    H5Tset_size(type.id(), value.empty() ? 1 : value.size());
    H5Tset_cset(type.id(), H5T_CSET_UTF8);
    Handle space(H5Screate(H5S_SCALAR), H5Sclose, "scalar dataspace");
    Handle a(H5Acreate2(id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose, "creating attribute " + name);
    const std::string padded = value.empty() ? std::string(1, '\0') : value;
    LGV_REQUIRE(H5Awrite(a.id(), type.id(), padded.data()) >= 0, "HDF5: writing attribute ", name,
                " failed", reason());
}
void Group::attr(const std::string &name, double value) const {
    write_scalar_attr(id(), name, value);
}
void Group::attr(const std::string &name, std::uint64_t value) const {
    write_scalar_attr(id(), name, value);
}
void Group::attr(const std::string &name, const std::vector<std::int32_t> &value) const {
    write_attr(id(), name, value);
}
void Group::scalar_attr(const std::string &name, std::int32_t value) const {
    write_scalar_attr(id(), name, value);
}
void Group::attr(const std::string &name, const std::vector<std::string> &value) const {
    std::size_t width = 1;
    for (const std::string &v : value)
        width = std::max(width, v.size());
    std::string packed(width * value.size(), '\0'); // each string null-padded to the width
    for (std::size_t i = 0; i < value.size(); ++i)
        packed.replace(i * width, value[i].size(), value[i]);
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    H5Tset_size(type.id(), width);
    H5Tset_strpad(type.id(), H5T_STR_NULLPAD);
    const hsize_t n = value.size();
    Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose, "dataspace of attribute " + name);
    Handle a(H5Acreate2(id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose, "creating attribute " + name);
    LGV_REQUIRE(H5Awrite(a.id(), type.id(), packed.data()) >= 0, "HDF5: writing attribute ", name,
                " failed", reason());
}
std::string Group::attr_string(const std::string &name) const {
    Handle a(H5Aopen(id(), name.c_str(), H5P_DEFAULT), H5Aclose, "opening attribute " + name);
    Handle type(H5Aget_type(a.id()), H5Tclose, "type of attribute " + name);
    const std::size_t size = H5Tget_size(type.id());
    std::string out(size, '\0');
    LGV_REQUIRE(H5Aread(a.id(), type.id(), out.data()) >= 0, "HDF5: reading attribute ", name,
                " failed", reason());
    while (!out.empty() && out.back() == '\0')
        out.pop_back();
    return out;
}
double Group::attr_double(const std::string &name) const {
    return read_attr<double>(id(), name);
}
std::uint64_t Group::attr_u64(const std::string &name) const {
    return read_attr<std::uint64_t>(id(), name);
}

namespace {
/// Errors are thrown with what failed; the library's own error stack on stderr would only bury
/// them. No clean-up at exit either: after a failed close (a full disk) HDF5 1.10 keeps a
/// half-released file and its exit handler crashes on it; every file is closed before then.
void silence_library_errors() {
    static const bool silenced =
        (H5dont_atexit(), H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr), true);
    (void)silenced;
}
} // namespace

File File::create(const std::string &path) {
    silence_library_errors();
    File f;
    f.path_ = path;
    f.h_ = Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose,
                  "creating " + path);
    return f;
}
File File::open(const std::string &path) {
    silence_library_errors();
    // Why a file cannot be opened, in the user's words rather than HDF5's "failed".
    if (std::FILE *probe = std::fopen(path.c_str(), "rb"))
        std::fclose(probe);
    else
        throw Error(detail::concat(path, ": cannot open it (", std::strerror(errno), ")"));
    const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
    LGV_REQUIRE(is_hdf5 != 0, path, ": not an HDF5 file");
    File f;
    f.path_ = path;
    const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    LGV_REQUIRE(id >= 0, path, ": HDF5 cannot open it (is it truncated or damaged?)");
    f.h_ = Handle(id, H5Fclose, "opening " + path);
    return f;
}
void File::close() {
    const bool flushed = H5Fflush(h_.id(), H5F_SCOPE_LOCAL) >= 0;
    const std::string why = flushed ? std::string() : reason();
    const bool closed = h_.close();
    LGV_REQUIRE(flushed && closed, "HDF5: writing ", path_, " failed",
                why.empty() ? reason() : why);
    // On the disk before it replaces an earlier file (a checkpoint survives a power cut).
    const int fd = ::open(path_.c_str(), O_RDONLY);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    const int error = errno;
    if (fd >= 0)
        ::close(fd);
    LGV_REQUIRE(synced, "writing ", path_, " failed (", std::strerror(error), ")");
}
Group File::root() const {
    return Group(Handle(H5Gopen2(h_.id(), "/", H5P_DEFAULT), H5Gclose, "opening / of " + path_));
}

} // namespace langevin::h5
