// Private shim: HDF5 (serial) with its high-level library (dimension scales) for FokkerPlanck.
//
// HDF5's property-list, type and flag "constants" are macros that call H5open() and read mutable
// globals, which Swift cannot import (and Swift 6 would reject as not concurrency-safe): each one
// Swift needs is wrapped here in a static inline function.
#ifndef FP_HDF5_SHIM_H
#define FP_HDF5_SHIM_H
#include <hdf5/serial/hdf5.h>
#include <hdf5/serial/hdf5_hl.h>

static inline hid_t fp_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t fp_h5s_all(void) { return H5S_ALL; }
static inline hid_t fp_h5e_default(void) { return H5E_DEFAULT; }
static inline unsigned fp_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned fp_h5f_acc_excl(void) { return H5F_ACC_EXCL; }
static inline unsigned fp_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned fp_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline hid_t fp_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t fp_h5t_native_int(void) { return H5T_NATIVE_INT; }
static inline hid_t fp_h5t_native_llong(void) { return H5T_NATIVE_LLONG; }
static inline hid_t fp_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t fp_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t fp_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t fp_h5t_c_s1(void) { return H5T_C_S1; }
static inline size_t fp_h5t_variable(void) { return H5T_VARIABLE; }
static inline hsize_t fp_h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline hid_t fp_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t fp_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline unsigned fp_h5p_crt_order_tracked_indexed(void) {
    return H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED;
}

/// Prepares the library once per process: no atexit clean-up (after a failed H5Fclose — a full
/// disk — the library's own clean-up at exit dereferences the half-closed file and crashes; every
/// file is closed explicitly instead), and no automatic error stack printing (errors are reported
/// by the Swift layer). H5dont_atexit must come before any other HDF5 call.
static inline void fp_h5_prepare(void) {
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/// The number of attributes attached to an object.
static inline long long fp_h5_num_attrs(hid_t obj) {
    H5O_info_t info;
    if (H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS) < 0) return -1;
    return (long long)info.num_attrs;
}

/// 1 when the object is a dataset, 0 when it is something else, -1 on error.
static inline int fp_h5_is_dataset(hid_t loc, const char *name) {
    H5O_info_t info;
    if (H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
    return info.type == H5O_TYPE_DATASET ? 1 : 0;
}

/// The type class of a datatype: 0 integer, 1 float, 2 string, 3 other.
static inline int fp_h5_type_kind(hid_t type) {
    switch (H5Tget_class(type)) {
    case H5T_INTEGER: return 0;
    case H5T_FLOAT: return 1;
    case H5T_STRING: return 2;
    default: return 3;
    }
}
#endif
