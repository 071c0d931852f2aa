import CLapack

/// Classical Gram–Schmidt applied twice (CGS2), the orthogonalization of GMRES and of the Krylov
/// exponential: removes from `w` its components along the first `count` rows of the row-major
/// orthonormal `basis` (rows of length `w.count`) — c = Vᵀw, w −= V c, twice — and leaves the
/// summed coefficients in `coefficients[0..<count]` (`scratch`, at least `count` long, holds each
/// pass'). As stable as modified Gram–Schmidt, in BLAS-2 passes instead of `count` dot products.
func orthogonalizeCGS2(_ w: inout [Double], against basis: [Double], count: Int,
                       coefficients: inout [Double], scratch: inout [Double]) {
    let n = w.count
    for i in 0..<count { coefficients[i] = 0 }
    basis.withUnsafeBufferPointer { v in
        scratch.withUnsafeMutableBufferPointer { c in
            for _ in 0..<2 {
                cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(count), Int32(n), 1, v.baseAddress, Int32(n),
                            w, 1, 0, c.baseAddress, 1)
                cblas_dgemv(CblasRowMajor, CblasTrans, Int32(count), Int32(n), -1, v.baseAddress, Int32(n),
                            c.baseAddress, 1, 1, &w, 1)
                for i in 0..<count { coefficients[i] += c[i] }
            }
        }
    }
}
