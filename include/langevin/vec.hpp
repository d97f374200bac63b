// A fixed-size coordinate vector that lives in registers.
#pragma once

#include "langevin/core.hpp"

namespace langevin {

template <class T, int D> struct Vec {
    T v[D];
    LGV_HD LGV_INLINE T &operator[](int i) { return v[i]; }
    LGV_HD LGV_INLINE const T &operator[](int i) const { return v[i]; }
};

} // namespace langevin
