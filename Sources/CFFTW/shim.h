// Private shim: FFTW3 (double precision) for the spectral solvers of the FokkerPlanck library.
#ifndef FP_FFTW_SHIM_H
#define FP_FFTW_SHIM_H
#include <fftw3.h>
static inline unsigned fp_fftw_estimate(void) { return FFTW_ESTIMATE; }
static inline unsigned fp_fftw_measure(void) { return FFTW_MEASURE; }
static inline int fp_fftw_forward(void) { return FFTW_FORWARD; }
static inline int fp_fftw_backward(void) { return FFTW_BACKWARD; }
static inline fftw_r2r_kind fp_fftw_redft10(void) { return FFTW_REDFT10; }
#endif
