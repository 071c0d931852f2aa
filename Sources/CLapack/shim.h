// Private shim: LAPACKE and CBLAS (OpenBLAS) for the FokkerPlanck library.
#ifndef FP_LAPACK_SHIM_H
#define FP_LAPACK_SHIM_H
#include <lapacke.h>
#include <x86_64-linux-gnu/cblas.h>
static inline int fp_lapack_row_major(void) { return LAPACK_ROW_MAJOR; }
#endif
