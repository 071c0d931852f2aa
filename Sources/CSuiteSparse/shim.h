// Private shim: SuiteSparse (UMFPACK, CHOLMOD) for the FokkerPlanck library.
// Debian's SuiteSparse 5.12 installs its headers in /usr/include/suitesparse without a .pc file.
#ifndef FP_SUITESPARSE_SHIM_H
#define FP_SUITESPARSE_SHIM_H
#include <suitesparse/umfpack.h>
#include <suitesparse/cholmod.h>

// UMFPACK's Control/Info array sizes and indices are plain macros; wrap those Swift needs so that
// the Swift side never spells a magic number.
static inline int fp_umfpack_control_size(void) { return UMFPACK_CONTROL; }
static inline int fp_umfpack_info_size(void) { return UMFPACK_INFO; }
static inline int fp_umfpack_ordering_index(void) { return UMFPACK_ORDERING; }
static inline double fp_umfpack_ordering_amd(void) { return UMFPACK_ORDERING_AMD; }
static inline double fp_umfpack_ordering_metis(void) { return UMFPACK_ORDERING_METIS; }
static inline double fp_umfpack_ordering_best(void) { return UMFPACK_ORDERING_BEST; }
static inline int fp_umfpack_info_lnz(void) { return UMFPACK_LNZ; }
static inline int fp_umfpack_info_unz(void) { return UMFPACK_UNZ; }
static inline int fp_umfpack_info_numeric_size(void) { return UMFPACK_NUMERIC_SIZE; }
static inline int fp_umfpack_info_peak_memory(void) { return UMFPACK_PEAK_MEMORY; }
static inline int fp_umfpack_info_size_of_unit(void) { return UMFPACK_SIZE_OF_UNIT; }
static inline int fp_umfpack_info_flops(void) { return UMFPACK_FLOPS; }
static inline int fp_umfpack_info_rcond(void) { return UMFPACK_RCOND; }
static inline int fp_umfpack_info_ordering_used(void) { return UMFPACK_ORDERING_USED; }
static inline int fp_umfpack_irstep_index(void) { return UMFPACK_IRSTEP; }
static inline int fp_umfpack_sys_A(void) { return UMFPACK_A; }
static inline int fp_umfpack_sys_At(void) { return UMFPACK_At; }
static inline int fp_umfpack_ok(void) { return UMFPACK_OK; }
static inline int fp_umfpack_warning_singular(void) { return UMFPACK_WARNING_singular_matrix; }
#endif
