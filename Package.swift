// swift-tools-version:6.0
//
// FokkerPlanck — a Fokker–Planck PDE solver suite.
//
// C libraries (SuiteSparse, LAPACK/OpenBLAS, FFTW, HDF5) enter through the small system-library
// shim targets `C*`; no C type appears in the public API of the `FokkerPlanck` library.
import PackageDescription

let package = Package(
    name: "FokkerPlanck",
    products: [
        .library(name: "FokkerPlanck", targets: ["FokkerPlanck"]),
        .executable(name: "fpsolve", targets: ["fpsolve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/LebJe/TOMLKit", exact: "0.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CSuiteSparse", path: "Sources/CSuiteSparse"),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5"),
        .systemLibrary(name: "CLapack", path: "Sources/CLapack"),
        .systemLibrary(name: "CFFTW", path: "Sources/CFFTW"),
        .target(
            name: "FokkerPlanck",
            dependencies: [
                "CSuiteSparse", "CHDF5", "CLapack", "CFFTW",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .executableTarget(
            name: "fpsolve",
            dependencies: [
                "FokkerPlanck",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "FokkerPlanckTests",
            dependencies: ["FokkerPlanck"]
        ),
    ]
)
